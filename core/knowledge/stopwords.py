"""Stop words per language for keyword search: function words that carry no topic ("how", "the", "как", "мне").

Kept short on purpose: a word missing here only costs a little BM25 noise (its idf is low anyway), a topic word
wrongly listed here can never be found. Russian words are written with "е" for "ё" (the tokenizer folds "ё").
"""

from __future__ import annotations

EN = frozenset(
    "a an and are as at be but by can could do does did for from had has have how i if in into is it its me my "
    "no not of on or our so should that the their them then there these they this those to was we were what when "
    "where which who whom why will with would you your".split()
)

RU = frozenset(
    "а без бы был была были было быть в вам вас ваш ваша ваше ваши вот во вы где да даже для до его ее ей если "
    "есть еще же за и из или им их к как ко когда кто ли либо мне меня мой мы на над наш не него нее нет ни "
    "них но ну о об однако он она они оно от по под при с со так также такой там те тем то того тоже только "
    "том ты у уже чем что чтобы чье эта эти это этот я "
    "ли можно нужно надо сколько какой какая какие каком какую почему зачем "
    "который которая которое которые которого которой котором которую которых через".split()
)

BY_LANGUAGE: dict[str, frozenset[str]] = {"en": EN, "ru": RU}
