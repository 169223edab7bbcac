"""Fake personal data that looks like a real feed's: names, mobile numbers, ID cards.

Everything here is invented from seeded draws. The values only ever go into the
personal-data fields of an event (``customer_name``, ``customer_phone``,
``customer_id_number``) and into transcripts as the name a seller addresses
the customer by, which is what the codec masks; they never go into
identifiers.
"""
from __future__ import annotations

from datetime import date, timedelta
from random import Random

# Common surnames with rough relative frequency, so that 王, 李 and 张 dominate
# as they do in a real book of business.
_SURNAMES = (
    ("王", 72), ("李", 70), ("张", 66), ("刘", 53), ("陈", 45), ("杨", 32), ("黄", 24), ("赵", 22),
    ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 13), ("朱", 13), ("胡", 12), ("郭", 11),
    ("何", 10), ("林", 9), ("罗", 9), ("高", 9), ("郑", 8), ("梁", 8), ("谢", 6), ("宋", 6),
    ("唐", 6), ("许", 5), ("韩", 5), ("冯", 5), ("邓", 5), ("曹", 5), ("彭", 4), ("曾", 4),
    ("肖", 4), ("田", 4), ("董", 4), ("潘", 3), ("袁", 3), ("蔡", 3), ("蒋", 3), ("余", 3),
    ("欧阳", 1), ("司马", 1),
)
# Given-name characters. None of them occurs in a listed banned phrase, so a
# masked name can never cut a phrase in two.
GIVEN_NAME_CHARACTERS = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲志红晨晓梅鹏飞宇浩然子轩欣怡雨萱佳琪"
    "思涵梓涵俊杰博文嘉怡婷雪琳瑶鑫淑兰玉珍凤春海波斌宁丹峰磊龙健亮鸿燕萍"
)
_SURNAME_NAMES = tuple(s for s, _ in _SURNAMES)
_SURNAME_CUM: list[int] = []
_running = 0
for _, _weight in _SURNAMES:
    _running += _weight
    _SURNAME_CUM.append(_running)

# Mobile number prefixes of the three carriers.
_MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                    "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183",
                    "186", "187", "188", "189", "191", "198", "199")
# Administrative division codes (district level) of large cities.
_REGION_CODES = ("110101", "110105", "110108", "120101", "310101", "310104", "310115", "320102", "320505",
                 "330102", "330106", "340104", "350203", "370102", "370202", "410105", "420106", "430104",
                 "440103", "440106", "440305", "440306", "500103", "510104", "510107", "610113")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def fake_name(rng: Random) -> str:
    """A Chinese full name: a surname and one or two given-name characters."""
    surname = rng.choices(_SURNAME_NAMES, cum_weights=_SURNAME_CUM)[0]
    given = rng.choice(GIVEN_NAME_CHARACTERS) + (rng.choice(GIVEN_NAME_CHARACTERS) if rng.random() < 0.7 else "")
    return surname + given


def fake_mobile(rng: Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def id_check_digit(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of an 18-digit ID number."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def fake_id_number(rng: Random, age: int, on: date) -> str:
    """An 18-character resident ID number for someone ``age`` years old on ``on``,
    with a valid check character (odd sequence for men, even for women)."""
    birth = on - timedelta(days=int(age * 365.25) + rng.randrange(1, 365))
    first17 = rng.choice(_REGION_CODES) + birth.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return first17 + id_check_digit(first17)
