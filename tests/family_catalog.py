"""A small catalog with translation families and a near-duplicate, for the similarity and
family tests: three case studies each in English, Ukrainian and Russian (translations of one
another), a battlecard in English and Ukrainian, a datasheet and a lightly edited copy of it,
and a few unrelated assets."""

from __future__ import annotations

from typing import Any

CASES = {
    "bank": {
        "en": "Case study: a regional bank cut reconciliation time by 40% with Stratosfera "
        "Data Hub. The bank had twelve branches and manual spreadsheets; after the rollout, "
        "reports arrive daily and auditors trust the numbers.",
        "uk": "Кейс: регіональний банк скоротив час звірки на 40% завдяки Stratosfera Data "
        "Hub. У банку було дванадцять відділень і ручні таблиці; після впровадження звіти "
        "надходять щодня, а аудитори довіряють цифрам.",
        "ru": "Кейс: региональный банк сократил время сверки на 40% благодаря Stratosfera "
        "Data Hub. В банке было двенадцать отделений и ручные таблицы; после внедрения отчёты "
        "приходят ежедневно, а аудиторы доверяют цифрам.",
    },
    "hospital": {
        "en": "Case study: a hospital network reduced equipment downtime by 30% with "
        "Stratosfera Asset Monitor. Nurses get alerts before failures and the biomedical team "
        "plans repairs weekly.",
        "uk": "Кейс: мережа лікарень скоротила простої обладнання на 30% завдяки Stratosfera "
        "Asset Monitor. Медсестри отримують сповіщення до відмов, а біомедична команда планує "
        "ремонти щотижня.",
        "ru": "Кейс: сеть больниц сократила простои оборудования на 30% благодаря Stratosfera "
        "Asset Monitor. Медсёстры получают оповещения до отказов, а биомедицинская команда "
        "планирует ремонты еженедельно.",
    },
    "retail": {
        "en": "Case study: a grocery chain of forty stores saved 18% on refrigeration energy "
        "with Stratosfera Energy Optimizer. Store managers see each fridge's consumption and "
        "fix faulty doors the same day.",
        "uk": "Кейс: мережа з сорока продуктових магазинів заощадила 18% енергії на "
        "холодильниках завдяки Stratosfera Energy Optimizer. Керівники магазинів бачать "
        "споживання кожного холодильника й лагодять несправні дверцята того ж дня.",
        "ru": "Кейс: сеть из сорока продуктовых магазинов сэкономила 18% энергии на "
        "холодильниках благодаря Stratosfera Energy Optimizer. Управляющие магазинами видят "
        "потребление каждого холодильника и чинят неисправные дверцы в тот же день.",
    },
}

BATTLECARD = {
    "en": "Battlecard: how to win against Polar Dynamics in manufacturing. Their sensors need "
    "a gateway per line; ours connect directly. Ask the buyer about maintenance costs over "
    "five years.",
    "uk": "Бойова картка: як перемогти Polar Dynamics на виробництві. Їхнім сенсорам потрібен "
    "шлюз на кожну лінію; наші підключаються напряму. Запитайте покупця про витрати на "
    "обслуговування за п'ять років.",
}

DATASHEET = (
    "Stratosfera Edge Gateway is an industrial gateway for plants that run mixed equipment. "
    "It reads Modbus, OPC UA and MQTT devices, buffers data for up to seven days when the "
    "uplink fails, and forwards it to the cloud or to an on-premises historian. The gateway "
    "runs on a fanless DIN-rail unit rated from minus thirty to plus sixty degrees. Remote "
    "management covers firmware updates, certificate rotation and health monitoring for "
    "fleets of thousands of units. Security features include a hardware root of trust, "
    "signed firmware, role-based access and an audit log of every configuration change. "
    "Typical deployments connect one gateway per production line and take less than a day "
    "to commission with the partner's installation checklist."
)
# the same datasheet after a light edit: two words changed
DATASHEET_COPY = DATASHEET.replace("seven days", "ten days").replace("thousands", "hundreds")


def family_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for topic, texts in CASES.items():
        for lang, text in texts.items():
            rows.append(
                {
                    "asset_id": f"case-{topic}-{lang}",
                    "title": text.split(".")[0],
                    "type": "case_study",
                    "language": lang,
                    "summary": text,
                    "stages": ["discovery"],
                    "family_id": f"case-{topic}",
                    "published_at": "2025-03-01",
                }
            )
    for lang, text in BATTLECARD.items():
        rows.append(
            {
                "asset_id": f"battlecard-polar-{lang}",
                "title": text.split(".")[0],
                "type": "battlecard",
                "language": lang,
                "summary": text,
                "stages": ["negotiation", "discovery"],
                "competitors": ["polar-dynamics"],
                "family_id": "battlecard-polar",
            }
        )
    for asset_id, text, published in (
        ("gateway-datasheet", DATASHEET, "2025-01-10"),
        ("gateway-datasheet-v2", DATASHEET_COPY, "2025-06-10"),
    ):
        rows.append(
            {
                "asset_id": asset_id,
                "title": "Stratosfera Edge Gateway datasheet",
                "type": "datasheet",
                "language": "en",
                "summary": "The industrial gateway's specifications in one page.",
                "body": text,
                "stages": ["discovery", "solution"],
                "published_at": published,
            }
        )
    rows.append(
        {
            "asset_id": "roi-storage",
            "title": "ROI calculator for storage upgrades",
            "type": "roi_calculator",
            "language": "en",
            "summary": "Estimate the return on investment of replacing ageing storage arrays.",
            "stages": ["discovery", "negotiation"],
        }
    )
    rows.append(
        {
            "asset_id": "onboarding-uk",
            "title": "Посібник для нових партнерів",
            "type": "playbook",
            "language": "uk",
            "summary": "Перші кроки партнера: реєстрація угод, навчання, доступ до порталу.",
            "stages": ["discovery"],
        }
    )
    return rows


FAMILIES = {
    **{
        f"case-{topic}": [f"case-{topic}-{lang}" for lang in texts]
        for topic, texts in CASES.items()
    },
    "battlecard-polar": [f"battlecard-polar-{lang}" for lang in BATTLECARD],
}
