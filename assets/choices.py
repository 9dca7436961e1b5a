from django.db import models


class AssetType(models.TextChoices):
    CRYPTO = "crypto", "Crypto"
    STABLECOIN = "stablecoin", "Stablecoin"
    MACRO = "macro", "Macro"
    INDEX = "index", "Index"
