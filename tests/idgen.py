"""Valid identifiers for tests, computed independently of the service's own checks."""

from __future__ import annotations

W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def make_id(birth: str = "19850612", seq: int = 123, male: bool = True, region: str = "440305") -> str:
    code = f"{seq:03d}"
    if (int(code[2]) % 2 == 1) != male:
        code = code[:2] + str((int(code[2]) + 1) % 10)
    body = region + birth + code
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, W, strict=True)) % 11]


def make_credit(body: str = "91440300MA5DL7K25") -> str:
    total = sum(CREDIT_CHARS.index(ch) * w for ch, w in zip(body, CREDIT_W, strict=True))
    return body + CREDIT_CHARS[(31 - total % 31) % 31]


def make_card(prefix: str = "622202", n: int = 1, length: int = 19) -> str:
    body = (prefix + str(n).zfill(length - len(prefix) - 1))[: length - 1]
    digits = [int(d) for d in reversed(body)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)
