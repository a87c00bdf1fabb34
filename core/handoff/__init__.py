"""Human handoff: a person takes a conversation over from the bot, and gives it back (see core/handoff/desk.py)."""
