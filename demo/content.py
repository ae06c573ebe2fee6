"""Deterministic builder of the committed demo catalog: assets, partners and documents.

One fictional vendor, Stratosfera Systems (industrial IoT: gateways, SCADA, cloud, analytics),
sells ten products through partners in Ukraine, Poland, the Baltics, Moldova, DACH and CEE.
Its enablement catalog mixes Ukrainian, Russian and English assets of all sixteen asset types.

Everything here is template-built from hand-written sentences in the three languages (real
Ukrainian and Russian, not transliteration) and a seeded `random.Random`, so the same call
always produces the same text. The templates avoid inflecting a slot inside a sentence:
brand names stay undeclined and industries appear either in a fixed phrase ("для логістики")
or in quotes («Логістика»), which keeps the generated Ukrainian and Russian grammatical.

Used twice:
- `python -m demo.content` writes data/demo/assets.jsonl, partners.csv and
  documents/ (run once; the output is committed; re-running reproduces it);
- `demo.generator.generate` calls `build_assets` / `build_partners` to synthesize larger
  catalogs and partner lists with the same distributions.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import shutil
import textwrap
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from demo import DEMO_DATA
from features.schema import AssetType, Depth, Maturity, Stage, rank

__all__ = [
    "COMPETITORS",
    "DEMO_DIR",
    "FAQ_FILE",
    "INDUSTRIES",
    "INDUSTRY_PRODUCTS",
    "PRODUCTS",
    "VENDOR",
    "build_assets",
    "build_partners",
    "deal_note",
    "faq_asset",
    "industry_words",
    "main",
    "render_tables",
    "word_count",
    "write_demo",
]

VENDOR = "Stratosfera Systems"
URL_PREFIX = "https://enablement.example.com/assets/"
DEMO_DIR = DEMO_DATA
# The Ukrainian FAQ the product grew from, kept byte for byte in the demo's documents.
FAQ_FILE = "partner-enablement-faq.uk.txt"
DEMO_SEED = 2026
DEMO_ASSETS = 320
DEMO_PARTNERS = 160
# The default generator window (GeneratorConfig.start/days): demo publish dates are spread
# around it so that some assets are "cold" (published in its last 20%).
DEMO_WINDOW_START = "2025-01-01"
DEMO_WINDOW_DAYS = 365
LANGUAGES = ("uk", "ru", "en")
MIN_SUMMARY_WORDS = 40
MAX_SUMMARY_WORDS = 150

# --- vocabulary -------------------------------------------------------------------------------

PRODUCTS: dict[str, dict[str, str]] = {
    "edge-gateway": {
        "name": "Stratosfera Edge Gateway",
        "en": "an industrial gateway that collects data from machines and sensors and "
        "processes it on site",
        "uk": "промисловий шлюз, що збирає дані з обладнання та датчиків і обробляє їх "
        "безпосередньо на об'єкті",
        "ru": "промышленный шлюз, который собирает данные с оборудования и датчиков и "
        "обрабатывает их прямо на объекте",
    },
    "scada-suite": {
        "name": "Stratosfera SCADA Suite",
        "en": "a supervisory control and visualisation system for industrial processes",
        "uk": "система диспетчерського керування та візуалізації технологічних процесів",
        "ru": "система диспетчерского управления и визуализации технологических процессов",
    },
    "stratos-cloud": {
        "name": "Stratos Cloud",
        "en": "an IoT cloud platform for storing, analysing and sharing data across sites",
        "uk": "хмарна IoT-платформа для зберігання, аналізу та обміну даними між майданчиками",
        "ru": "облачная IoT-платформа для хранения, анализа и обмена данными между площадками",
    },
    "secure-link": {
        "name": "Stratosfera SecureLink",
        "en": "a secure remote access and SD-WAN service for distributed sites",
        "uk": "захищений віддалений доступ і SD-WAN для розподілених об'єктів",
        "ru": "защищённый удалённый доступ и SD-WAN для распределённых объектов",
    },
    "vision-ai": {
        "name": "Stratosfera Vision AI",
        "en": "AI video analytics for quality control and workplace safety",
        "uk": "відеоаналітика на основі штучного інтелекту для контролю якості та безпеки праці",
        "ru": "видеоаналитика на основе искусственного интеллекта для контроля качества и "
        "безопасности труда",
    },
    "asset-monitor": {
        "name": "Stratosfera Asset Monitor",
        "en": "predictive maintenance based on vibration, temperature and power data",
        "uk": "предиктивне обслуговування обладнання за даними вібрації, температури та "
        "енергоспоживання",
        "ru": "предиктивное обслуживание оборудования по данным вибрации, температуры и "
        "энергопотребления",
    },
    "energy-optimizer": {
        "name": "Stratosfera Energy Optimizer",
        "en": "energy metering and optimisation for buildings and production lines",
        "uk": "облік і оптимізація енергоспоживання будівель та виробничих ліній",
        "ru": "учёт и оптимизация энергопотребления зданий и производственных линий",
    },
    "field-service": {
        "name": "Stratosfera Field Service",
        "en": "a mobile app for field engineers with work orders, checklists and photo reports",
        "uk": "мобільний застосунок для виїзних інженерів із нарядами, чек-листами та фотозвітами",
        "ru": "мобильное приложение для выездных инженеров с нарядами, чек-листами и фотоотчётами",
    },
    "data-hub": {
        "name": "Stratosfera Data Hub",
        "en": "an integration layer that connects operational data with ERP, MES and "
        "accounting systems",
        "uk": "інтеграційний шар, що поєднує операційні дані з ERP, MES та обліковими системами",
        "ru": "интеграционный слой, который объединяет операционные данные с ERP, MES и "
        "учётными системами",
    },
    "iot-sensors": {
        "name": "Stratosfera Sensor Kit",
        "en": "a kit of wireless temperature, vibration and power sensors with up to five "
        "years of battery life",
        "uk": "бездротові датчики температури, вібрації та енергоспоживання з автономністю до "
        "п'яти років",
        "ru": "беспроводные датчики температуры, вибрации и энергопотребления с автономностью "
        "до пяти лет",
    },
}

# What a customer typically reports after deploying each product ({pct} is filled in).
RESULTS: dict[str, dict[str, str]] = {
    "edge-gateway": {
        "en": "integration costs fell by {pct}%",
        "uk": "витрати на інтеграцію скоротилися на {pct}%",
        "ru": "затраты на интеграцию сократились на {pct}%",
    },
    "scada-suite": {
        "en": "operators' response time to alarms improved by {pct}%",
        "uk": "час реакції операторів на аварійні сигнали скоротився на {pct}%",
        "ru": "время реакции операторов на аварийные сигналы сократилось на {pct}%",
    },
    "stratos-cloud": {
        "en": "the effort spent on reporting dropped by {pct}%",
        "uk": "трудовитрати на звітність зменшилися на {pct}%",
        "ru": "трудозатраты на отчётность снизились на {pct}%",
    },
    "secure-link": {
        "en": "site visits for remote support fell by {pct}%",
        "uk": "кількість виїздів для віддаленої підтримки зменшилася на {pct}%",
        "ru": "количество выездов для удалённой поддержки снизилось на {pct}%",
    },
    "vision-ai": {
        "en": "defects reaching customers fell by {pct}%",
        "uk": "кількість дефектів, що доходять до клієнтів, зменшилася на {pct}%",
        "ru": "количество дефектов, доходящих до клиентов, снизилось на {pct}%",
    },
    "asset-monitor": {
        "en": "unplanned downtime fell by {pct}%",
        "uk": "незаплановані простої скоротилися на {pct}%",
        "ru": "внеплановые простои сократились на {pct}%",
    },
    "energy-optimizer": {
        "en": "energy costs fell by {pct}%",
        "uk": "витрати на енергію скоротилися на {pct}%",
        "ru": "затраты на энергию сократились на {pct}%",
    },
    "field-service": {
        "en": "the first-time fix rate rose by {pct}%",
        "uk": "частка ремонтів з першого виїзду зросла на {pct}%",
        "ru": "доля ремонтов с первого выезда выросла на {pct}%",
    },
    "data-hub": {
        "en": "month-end closing took {pct}% less time",
        "uk": "закриття місяця стало займати на {pct}% менше часу",
        "ru": "закрытие месяца стало занимать на {pct}% меньше времени",
    },
    "iot-sensors": {
        "en": "manual inspection rounds fell by {pct}%",
        "uk": "кількість ручних обходів зменшилася на {pct}%",
        "ru": "количество ручных обходов снизилось на {pct}%",
    },
}

# Per industry and language: title, "for ..." phrase, plural subject, two pains, two customers.
INDUSTRIES: dict[str, dict[str, dict[str, Any]]] = {
    "manufacturing": {
        "en": {
            "title": "Manufacturing",
            "name": "manufacturing",
            "for": "for manufacturing",
            "pl": "manufacturers",
            "pains": [
                "Manufacturers lose up to a fifth of their capacity to unplanned stops, and most "
                "of the warning signs are already in data nobody looks at.",
                "Plant managers are asked to cut energy and scrap at the same time, without "
                "adding headcount or stopping the line for long projects.",
            ],
            "customers": [
                "a mid-sized dairy producer with three plants",
                "an automotive components maker",
            ],
        },
        "uk": {
            "title": "Виробництво",
            "for": "для виробництва",
            "pl": "виробничі підприємства",
            "pains": [
                "Виробничі підприємства втрачають до п'ятої частини потужностей через "
                "незаплановані зупинки, хоча більшість сигналів про них уже є в даних, які "
                "ніхто не аналізує.",
                "Від керівників заводів вимагають одночасно зменшити енергоспоживання і брак, "
                "не збільшуючи персонал і не зупиняючи лінію на довгі проєкти.",
            ],
            "customers": [
                "середній виробник молочної продукції з трьома заводами",
                "виробник автомобільних комплектуючих",
            ],
        },
        "ru": {
            "title": "Производство",
            "for": "для производства",
            "pl": "производственные предприятия",
            "pains": [
                "Производственные предприятия теряют до пятой части мощностей из-за "
                "внеплановых остановок, хотя большинство сигналов о них уже есть в данных, "
                "которые никто не анализирует.",
                "От руководителей заводов требуют одновременно сократить энергопотребление и "
                "брак, не увеличивая персонал и не останавливая линию на долгие проекты.",
            ],
            "customers": [
                "средний производитель молочной продукции с тремя заводами",
                "производитель автомобильных комплектующих",
            ],
        },
    },
    "retail": {
        "en": {
            "title": "Retail",
            "name": "retail",
            "for": "for retail",
            "pl": "retail chains",
            "pains": [
                "Store chains run hundreds of sites with thin margins, so refrigeration "
                "failures, energy waste and empty shelves go straight to the bottom line.",
                "Retailers want one view of every store, from freezers to footfall, without "
                "sending a technician each time something looks wrong.",
            ],
            "customers": ["a grocery chain with 240 stores", "a regional DIY retailer"],
        },
        "uk": {
            "title": "Рітейл",
            "for": "для рітейлу",
            "pl": "торговельні мережі",
            "pains": [
                "Торговельні мережі керують сотнями магазинів із невеликою маржею, тому збої "
                "холодильного обладнання, перевитрата енергії та порожні полиці одразу б'ють "
                "по прибутку.",
                "Рітейлери хочуть бачити кожен магазин на одному екрані — від морозильних "
                "камер до відвідуваності — без виїзду техніка щоразу, коли щось іде не так.",
            ],
            "customers": [
                "продуктова мережа на 240 магазинів",
                "регіональний рітейлер товарів для дому",
            ],
        },
        "ru": {
            "title": "Ритейл",
            "for": "для ритейла",
            "pl": "торговые сети",
            "pains": [
                "Торговые сети управляют сотнями магазинов с небольшой маржой, поэтому сбои "
                "холодильного оборудования, перерасход энергии и пустые полки сразу бьют по "
                "прибыли.",
                "Ритейлеры хотят видеть каждый магазин на одном экране — от морозильных камер "
                "до посещаемости — без выезда техника каждый раз, когда что-то идёт не так.",
            ],
            "customers": [
                "продуктовая сеть на 240 магазинов",
                "региональный ритейлер товаров для дома",
            ],
        },
    },
    "banking": {
        "en": {
            "title": "Banking",
            "name": "banking",
            "for": "for banking",
            "pl": "banks",
            "pains": [
                "Banks must keep branches and ATMs connected and secure while regulators ask "
                "for evidence of every remote access to their infrastructure.",
                "With branch networks shrinking, banks want to run the remaining sites with "
                "fewer visits, lower energy bills and no gaps in security monitoring.",
            ],
            "customers": [
                "a commercial bank with 180 branches",
                "the ATM network of a retail bank",
            ],
        },
        "uk": {
            "title": "Банки",
            "for": "для банків",
            "pl": "банки",
            "pains": [
                "Банки мають підтримувати зв'язок і безпеку відділень та банкоматів, тоді як "
                "регулятор вимагає підтвердження кожного віддаленого доступу до інфраструктури.",
                "Мережі відділень скорочуються, і банки хочуть обслуговувати решту об'єктів із "
                "меншою кількістю виїздів, меншими рахунками за енергію та без прогалин у "
                "моніторингу безпеки.",
            ],
            "customers": [
                "комерційний банк зі 180 відділеннями",
                "мережа банкоматів роздрібного банку",
            ],
        },
        "ru": {
            "title": "Банки",
            "for": "для банков",
            "pl": "банки",
            "pains": [
                "Банки должны поддерживать связь и безопасность отделений и банкоматов, в то "
                "время как регулятор требует подтверждения каждого удалённого доступа к "
                "инфраструктуре.",
                "Сети отделений сокращаются, и банки хотят обслуживать оставшиеся объекты с "
                "меньшим числом выездов, меньшими счетами за энергию и без пробелов в "
                "мониторинге безопасности.",
            ],
            "customers": [
                "коммерческий банк со 180 отделениями",
                "сеть банкоматов розничного банка",
            ],
        },
    },
    "healthcare": {
        "en": {
            "title": "Healthcare",
            "name": "healthcare",
            "for": "for healthcare providers",
            "pl": "hospitals and clinics",
            "pains": [
                "Hospitals depend on equipment that must not fail and on medicines that must "
                "stay within a narrow temperature range, around the clock.",
                "Clinics are under pressure to cut energy costs and paperwork while proving to "
                "inspectors that cold rooms and critical devices are monitored.",
            ],
            "customers": ["a regional hospital", "a network of private clinics"],
        },
        "uk": {
            "title": "Охорона здоров'я",
            "for": "для закладів охорони здоров'я",
            "pl": "лікарні та клініки",
            "pains": [
                "Лікарні залежать від обладнання, яке не має права зламатися, і від ліків, які "
                "цілодобово мають зберігатися у вузькому діапазоні температур.",
                "Клініки мають скоротити витрати на енергію та паперову роботу й водночас "
                "довести інспекторам, що холодильні камери та критичні пристрої під постійним "
                "контролем.",
            ],
            "customers": ["обласна лікарня", "мережа приватних клінік"],
        },
        "ru": {
            "title": "Здравоохранение",
            "for": "для учреждений здравоохранения",
            "pl": "больницы и клиники",
            "pains": [
                "Больницы зависят от оборудования, которое не имеет права сломаться, и от "
                "лекарств, которые круглосуточно должны храниться в узком диапазоне температур.",
                "Клиники должны сократить расходы на энергию и бумажную работу и при этом "
                "доказать инспекторам, что холодильные камеры и критичные устройства под "
                "постоянным контролем.",
            ],
            "customers": ["областная больница", "сеть частных клиник"],
        },
    },
    "energy": {
        "en": {
            "title": "Energy & utilities",
            "name": "energy and utilities",
            "for": "for energy and utilities",
            "pl": "energy companies and utilities",
            "pains": [
                "Utilities operate substations and pumping stations spread over large areas, "
                "where every truck roll is expensive and outages are visible to everyone.",
                "Energy companies need reliable telemetry from remote assets and a secure way "
                "for contractors to reach them without opening the network.",
            ],
            "customers": [
                "a regional power distribution company",
                "a municipal water utility",
            ],
        },
        "uk": {
            "title": "Енергетика",
            "for": "для енергетики",
            "pl": "енергетичні компанії",
            "pains": [
                "Енергетичні компанії експлуатують підстанції та насосні станції на великих "
                "територіях, де кожен виїзд бригади дорогий, а кожна аварія помітна всім.",
                "Енергетикам потрібна надійна телеметрія з віддалених об'єктів і безпечний "
                "спосіб надати підрядникам доступ без відкриття мережі.",
            ],
            "customers": [
                "регіональна енергорозподільна компанія",
                "міський водоканал",
            ],
        },
        "ru": {
            "title": "Энергетика",
            "for": "для энергетики",
            "pl": "энергетические компании",
            "pains": [
                "Энергетические компании эксплуатируют подстанции и насосные станции на "
                "больших территориях, где каждый выезд бригады дорог, а каждая авария заметна "
                "всем.",
                "Энергетикам нужна надёжная телеметрия с удалённых объектов и безопасный "
                "способ дать подрядчикам доступ без открытия сети.",
            ],
            "customers": [
                "региональная энергораспределительная компания",
                "городской водоканал",
            ],
        },
    },
    "logistics": {
        "en": {
            "title": "Logistics",
            "name": "logistics",
            "for": "for logistics",
            "pl": "logistics operators",
            "pains": [
                "Logistics operators need to know where goods are and in what condition, from "
                "the warehouse dock to the last mile, without manual checks.",
                "Warehouses run on tight schedules, and a failed conveyor or a warm reefer "
                "truck can cost more in a day than the monitoring costs in a year.",
            ],
            "customers": ["a 3PL operator with six warehouses", "a cold-chain carrier"],
        },
        "uk": {
            "title": "Логістика",
            "for": "для логістики",
            "pl": "логістичні оператори",
            "pains": [
                "Логістичним операторам потрібно знати, де перебуває вантаж і в якому він "
                "стані — від складської рампи до останньої милі — без ручних перевірок.",
                "Склади працюють за щільним графіком, і зламаний конвеєр чи теплий "
                "рефрижератор за день коштують більше, ніж рік моніторингу.",
            ],
            "customers": [
                "3PL-оператор із шістьма складами",
                "перевізник рефрижераторних вантажів",
            ],
        },
        "ru": {
            "title": "Логистика",
            "for": "для логистики",
            "pl": "логистические операторы",
            "pains": [
                "Логистическим операторам нужно знать, где находится груз и в каком он "
                "состоянии — от складской рампы до последней мили — без ручных проверок.",
                "Склады работают по плотному графику, и сломанный конвейер или тёплый "
                "рефрижератор за день обходятся дороже, чем год мониторинга.",
            ],
            "customers": [
                "3PL-оператор с шестью складами",
                "перевозчик рефрижераторных грузов",
            ],
        },
    },
    "public-sector": {
        "en": {
            "title": "Public sector",
            "name": "the public sector",
            "for": "for the public sector",
            "pl": "public institutions",
            "pains": [
                "Municipalities and public institutions must cut energy use in schools, "
                "hospitals and street lighting while budgets stay flat.",
                "Public buyers look for transparent, standards-based solutions that local "
                "integrators can support for years after the tender.",
            ],
            "customers": [
                "a city council serving 300,000 residents",
                "a regional education department",
            ],
        },
        "uk": {
            "title": "Державний сектор",
            "for": "для державного сектору",
            "pl": "державні установи",
            "pains": [
                "Громади та державні установи мають скоротити енергоспоживання шкіл, лікарень "
                "і вуличного освітлення за незмінних бюджетів.",
                "Державні замовники шукають прозорі рішення на відкритих стандартах, які "
                "місцеві інтегратори зможуть підтримувати роками після тендеру.",
            ],
            "customers": [
                "міська рада з населенням 300 тисяч мешканців",
                "обласне управління освіти",
            ],
        },
        "ru": {
            "title": "Госсектор",
            "for": "для госсектора",
            "pl": "государственные учреждения",
            "pains": [
                "Муниципалитеты и государственные учреждения должны сократить "
                "энергопотребление школ, больниц и уличного освещения при неизменных бюджетах.",
                "Государственные заказчики ищут прозрачные решения на открытых стандартах, "
                "которые местные интеграторы смогут поддерживать годами после тендера.",
            ],
            "customers": [
                "городской совет с населением 300 тысяч жителей",
                "областное управление образования",
            ],
        },
    },
    "telecom": {
        "en": {
            "title": "Telecom",
            "name": "telecom",
            "for": "for telecom operators",
            "pl": "telecom operators",
            "pains": [
                "Telecom operators run thousands of tower sites where backup power, cooling and "
                "access control have to be watched remotely.",
                "Operators want new revenue from IoT services for their business customers and "
                "need a platform they can resell under their own brand.",
            ],
            "customers": ["a national mobile operator", "a regional internet provider"],
        },
        "uk": {
            "title": "Телеком",
            "for": "для телеком-операторів",
            "pl": "телеком-оператори",
            "pains": [
                "Телеком-оператори обслуговують тисячі базових станцій, де резервне живлення, "
                "охолодження та контроль доступу потрібно відстежувати дистанційно.",
                "Оператори шукають нові доходи від IoT-послуг для бізнес-клієнтів, і їм "
                "потрібна платформа, яку можна перепродавати під власним брендом.",
            ],
            "customers": [
                "національний мобільний оператор",
                "регіональний інтернет-провайдер",
            ],
        },
        "ru": {
            "title": "Телеком",
            "for": "для телеком-операторов",
            "pl": "телеком-операторы",
            "pains": [
                "Телеком-операторы обслуживают тысячи базовых станций, где резервное питание, "
                "охлаждение и контроль доступа нужно отслеживать удалённо.",
                "Операторы ищут новые доходы от IoT-услуг для бизнес-клиентов, и им нужна "
                "платформа, которую можно перепродавать под собственным брендом.",
            ],
            "customers": [
                "национальный мобильный оператор",
                "региональный интернет-провайдер",
            ],
        },
    },
}

# For assets (and deals) without an industry.
GENERIC_INDUSTRY: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Industrial IoT",
        "name": "industrial operations",
        "for": "",
        "pl": "industrial companies",
        "pains": [
            "The material is industry-neutral and works for manufacturing, retail, energy and "
            "public-sector accounts alike."
        ],
        "customers": ["a mid-sized industrial group"],
    },
    "uk": {
        "title": "Промисловий IoT",
        "for": "",
        "pl": "промислові компанії",
        "pains": [
            "Матеріал не прив'язаний до галузі й підходить для клієнтів із виробництва, "
            "рітейлу, енергетики та державного сектору."
        ],
        "customers": ["середня промислова група"],
    },
    "ru": {
        "title": "Промышленный IoT",
        "for": "",
        "pl": "промышленные компании",
        "pains": [
            "Материал не привязан к отрасли и подходит для клиентов из производства, ритейла, "
            "энергетики и госсектора."
        ],
        "customers": ["средняя промышленная группа"],
    },
}

# Which products an industry buys (keeps product and industry of one asset coherent).
INDUSTRY_PRODUCTS: dict[str, list[str]] = {
    "manufacturing": [
        "asset-monitor", "vision-ai", "edge-gateway", "scada-suite", "data-hub", "iot-sensors",
    ],
    "retail": ["energy-optimizer", "vision-ai", "iot-sensors", "secure-link", "stratos-cloud"],
    "banking": ["secure-link", "energy-optimizer", "stratos-cloud", "field-service"],
    "healthcare": ["iot-sensors", "energy-optimizer", "asset-monitor", "stratos-cloud"],
    "energy": ["scada-suite", "secure-link", "edge-gateway", "asset-monitor", "field-service"],
    "logistics": ["iot-sensors", "stratos-cloud", "field-service", "vision-ai", "data-hub"],
    "public-sector": ["energy-optimizer", "stratos-cloud", "iot-sensors", "secure-link"],
    "telecom": [
        "secure-link", "stratos-cloud", "edge-gateway", "energy-optimizer", "field-service",
    ],
}  # fmt: skip
INDUSTRY_WEIGHTS: dict[str, float] = {
    "manufacturing": 0.24,
    "retail": 0.12,
    "banking": 0.09,
    "healthcare": 0.1,
    "energy": 0.15,
    "logistics": 0.12,
    "public-sector": 0.1,
    "telecom": 0.08,
}

COMPETITORS: dict[str, dict[str, str]] = {
    "vortex-networks": {
        "name": "Vortex Networks",
        "en": "Vortex Networks is strong in networking but depends on third-party vendors for "
        "analytics and edge computing, which means more contracts and more integration risk.",
        "uk": "Сильна сторона Vortex Networks — мережі, слабка — залежність від сторонніх "
        "постачальників в аналітиці та периферійних обчисленнях, а отже більше договорів і "
        "ризиків інтеграції для клієнта.",
        "ru": "Сильная сторона Vortex Networks — сети, слабая — зависимость от сторонних "
        "поставщиков в аналитике и периферийных вычислениях, а значит больше договоров и "
        "рисков интеграции для клиента.",
    },
    "helix-automation": {
        "name": "Helix Automation",
        "en": "Helix Automation has a large installed SCADA base, but its licences are "
        "expensive and its cloud roadmap keeps slipping.",
        "uk": "У Helix Automation велика інстальована база SCADA, але ліцензії дорогі, а "
        "хмарна дорожня карта постійно зсувається.",
        "ru": "У Helix Automation большая инсталлированная база SCADA, но лицензии дорогие, "
        "а облачная дорожная карта постоянно сдвигается.",
    },
    "northwind-iot": {
        "name": "Northwind IoT",
        "en": "Northwind IoT wins on sensor price, but offers no on-premises option and "
        "little local support.",
        "uk": "Northwind IoT виграє ціною датчиків, але не пропонує локального розгортання і "
        "майже не має місцевої підтримки.",
        "ru": "Northwind IoT выигрывает ценой датчиков, но не предлагает локального "
        "развёртывания и почти не имеет местной поддержки.",
    },
    "polar-dynamics": {
        "name": "Polar Dynamics",
        "en": "Polar Dynamics brings a big analytics brand, yet its projects run long and need "
        "heavy customisation by its own consultants.",
        "uk": "Polar Dynamics має відомий бренд в аналітиці, проте проєкти Polar Dynamics "
        "тривають довго й потребують значних доопрацювань силами консультантів вендора.",
        "ru": "Polar Dynamics — сильный бренд в аналитике, однако проекты Polar Dynamics "
        "длятся долго и требуют серьёзных доработок силами консультантов вендора.",
    },
}

REGIONS: dict[str, dict[str, str]] = {
    "ua": {
        "en": "Prepared for the Ukrainian market, with local pricing and regulatory references.",
        "uk": "Підготовлено для ринку України з місцевими цінами та посиланнями на вимоги "
        "регуляторів.",
        "ru": "Подготовлено для рынка Украины с местными ценами и ссылками на требования "
        "регуляторов.",
    },
    "pl": {
        "en": "Prepared for the Polish market, with local pricing and regulatory references.",
        "uk": "Підготовлено для ринку Польщі з місцевими цінами та посиланнями на вимоги "
        "регуляторів.",
        "ru": "Подготовлено для рынка Польши с местными ценами и ссылками на требования "
        "регуляторов.",
    },
    "baltics": {
        "en": "Prepared for the Baltic markets, with local pricing and regulatory references.",
        "uk": "Підготовлено для ринків Балтії з місцевими цінами та посиланнями на вимоги "
        "регуляторів.",
        "ru": "Подготовлено для рынков Балтии с местными ценами и ссылками на требования "
        "регуляторов.",
    },
    "md": {
        "en": "Prepared for the Moldovan market, with local pricing and regulatory references.",
        "uk": "Підготовлено для ринку Молдови з місцевими цінами та посиланнями на вимоги "
        "регуляторів.",
        "ru": "Подготовлено для рынка Молдовы с местными ценами и ссылками на требования "
        "регуляторов.",
    },
    "dach": {
        "en": "Prepared for the DACH markets, with local pricing and regulatory references.",
        "uk": "Підготовлено для ринків DACH з місцевими цінами та посиланнями на вимоги "
        "регуляторів.",
        "ru": "Подготовлено для рынков DACH с местными ценами и ссылками на требования "
        "регуляторов.",
    },
    "cee": {
        "en": "Prepared for Central and Eastern Europe, with local pricing and regulatory "
        "references.",
        "uk": "Підготовлено для ринків Центральної та Східної Європи з місцевими цінами та "
        "посиланнями на вимоги регуляторів.",
        "ru": "Подготовлено для рынков Центральной и Восточной Европы с местными ценами и "
        "ссылками на требования регуляторов.",
    },
}
# Region restrictions that make sense for an asset in a given language.
_LANGUAGE_REGIONS = {
    "uk": ["ua"],
    "ru": ["ua", "md", "baltics"],
    "en": ["pl", "dach", "cee", "baltics"],
}

# Stage names as they read after "at the ... stage" / "для етапу ..." / "для этапа ...".
STAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "prospecting": "prospecting",
        "qualification": "qualification",
        "discovery": "discovery",
        "solution": "solution design",
        "negotiation": "negotiation",
        "closing": "closing",
        "post_sale": "post-sale",
    },
    "uk": {
        "prospecting": "пошуку клієнтів",
        "qualification": "кваліфікації",
        "discovery": "виявлення потреб",
        "solution": "проєктування рішення",
        "negotiation": "переговорів",
        "closing": "закриття угоди",
        "post_sale": "післяпродажного супроводу",
    },
    "ru": {
        "prospecting": "поиска клиентов",
        "qualification": "квалификации",
        "discovery": "выявления потребностей",
        "solution": "проектирования решения",
        "negotiation": "переговоров",
        "closing": "закрытия сделки",
        "post_sale": "послепродажного сопровождения",
    },
}

ROLE_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "cio": "the CIO",
        "cfo": "the CFO",
        "cto": "the CTO",
        "technical_buyer": "technical buyers",
        "business_owner": "business owners",
        "procurement": "procurement",
        "end_user": "end users",
    },
    "uk": {
        "cio": "ІТ-директор",
        "cfo": "фінансовий директор",
        "cto": "технічний директор",
        "technical_buyer": "технічні фахівці",
        "business_owner": "власник бізнесу",
        "procurement": "відділ закупівель",
        "end_user": "кінцеві користувачі",
    },
    "ru": {
        "cio": "ИТ-директор",
        "cfo": "финансовый директор",
        "cto": "технический директор",
        "technical_buyer": "технические специалисты",
        "business_owner": "владелец бизнеса",
        "procurement": "отдел закупок",
        "end_user": "конечные пользователи",
    },
}

# --- sentence templates -------------------------------------------------------------------------
# Slots: {product} {product2} {ind_for} {ind_title} {ind_name} {ind_pl} {customer} {competitor}.

_TITLES: dict[str, dict[str, list[str]]] = {
    "white_paper": {
        "en": ["{product}: the business case {ind_for}",
               "Connected operations {ind_for}: a white paper on {product}"],
        "uk": ["{product}: бізнес-обґрунтування {ind_for}",
               "Біла книга: цифровізація операцій {ind_for} з {product}"],
        "ru": ["{product}: бизнес-обоснование {ind_for}",
               "Белая книга: цифровизация операций {ind_for} с {product}"],
    },
    "article": {
        "en": ["Three trends reshaping {ind_name}",
               "Why operational data became a board topic in {ind_name}"],
        "uk": ["Три тренди, що змінюють сегмент «{ind_title}»",
               "Колонка експерта: дані та рішення {ind_for}"],
        "ru": ["Три тренда, которые меняют сегмент «{ind_title}»",
               "Колонка эксперта: данные и решения {ind_for}"],
    },
    "case_study": {
        "en": ["Case study: {product} at {customer}", "{customer_cap}: results with {product}"],
        "uk": ["Кейс: {product} — {customer}", "Історія успіху: {customer} і {product}"],
        "ru": ["Кейс: {product} — {customer}", "История успеха: {customer} и {product}"],
    },
    "roi_calculator": {
        "en": ["ROI calculator: {product} {ind_for}", "{product} payback and ROI model"],
        "uk": ["Калькулятор ROI: {product} {ind_for}", "Модель окупності та ROI: {product}"],
        "ru": ["Калькулятор ROI: {product} {ind_for}", "Модель окупаемости и ROI: {product}"],
    },
    "tco_calculator": {
        "en": ["TCO calculator: {product} vs. the status quo",
               "Five-year TCO model for {product} {ind_for}"],
        "uk": ["Калькулятор TCO: {product} проти поточного рішення",
               "П'ятирічна модель TCO для {product} {ind_for}"],
        "ru": ["Калькулятор TCO: {product} против текущего решения",
               "Пятилетняя модель TCO для {product} {ind_for}"],
    },
    "tech_commercial_calculator": {
        "en": ["Technical-commercial proposal calculator: {product}",
               "{product} configurator and pricing calculator"],
        "uk": ["Калькулятор техніко-комерційної пропозиції: {product}",
               "Конфігуратор і ціновий калькулятор {product}"],
        "ru": ["Калькулятор технико-коммерческого предложения: {product}",
               "Конфигуратор и ценовой калькулятор {product}"],
    },
    "battlecard": {
        "en": ["Battlecard: {product} vs. {competitor}", "Competing with {competitor}: {product}"],
        "uk": ["Бойова картка: {product} проти {competitor}",
               "Конкуренція з {competitor}: {product}"],
        "ru": ["Боевая карточка: {product} против {competitor}",
               "Конкуренция с {competitor}: {product}"],
    },
    "datasheet": {
        "en": ["{product} datasheet", "{product}: product datasheet"],
        "uk": ["{product}: технічний опис", "Інформаційний листок: {product}"],
        "ru": ["{product}: технический лист", "Информационный лист: {product}"],
    },
    "presentation": {
        "en": ["{product} {ind_for}: customer presentation", "First-meeting deck: {product}"],
        "uk": ["{product} {ind_for}: презентація для клієнта",
               "Презентація для першої зустрічі: {product}"],
        "ru": ["{product} {ind_for}: презентация для клиента",
               "Презентация для первой встречи: {product}"],
    },
    "webinar": {
        "en": ["Webinar: {product} in practice {ind_for}",
               "Webinar recording: questions about {product}"],
        "uk": ["Вебінар: {product} на практиці {ind_for}",
               "Запис вебінару: запитання про {product}"],
        "ru": ["Вебинар: {product} на практике {ind_for}",
               "Запись вебинара: вопросы о {product}"],
    },
    "training_course": {
        "en": ["{product} fundamentals course", "{product} installation and support training"],
        "uk": ["Курс: основи {product}", "Тренінг: встановлення та підтримка {product}"],
        "ru": ["Курс: основы {product}", "Тренинг: установка и поддержка {product}"],
    },
    "onboarding_guide": {
        "en": ["New partner onboarding guide", "First 90 days with {product}"],
        "uk": ["Посібник для нових партнерів", "Перші 90 днів з {product}"],
        "ru": ["Руководство для новых партнёров", "Первые 90 дней с {product}"],
    },
    "playbook": {
        "en": ["Sales playbook: {product} {ind_for}", "Pilot-to-rollout play for {product}"],
        "uk": ["Сейлз-плейбук: {product} {ind_for}",
               "Сценарій: від пілоту до впровадження {product}"],
        "ru": ["Сейлз-плейбук: {product} {ind_for}",
               "Сценарий: от пилота до внедрения {product}"],
    },
    "proposal_template": {
        "en": ["Proposal template: {product}", "Commercial offer template {ind_for}: {product}"],
        "uk": ["Шаблон пропозиції: {product}",
               "Шаблон комерційної пропозиції {ind_for}: {product}"],
        "ru": ["Шаблон предложения: {product}",
               "Шаблон коммерческого предложения {ind_for}: {product}"],
    },
    "reference_architecture": {
        "en": ["Reference architecture: {product} {ind_for}",
               "Multi-site design guide for {product}"],
        "uk": ["Референтна архітектура: {product} {ind_for}",
               "Посібник з проєктування багатооб'єктних рішень {product}"],
        "ru": ["Референсная архитектура: {product} {ind_for}",
               "Руководство по проектированию многообъектных решений {product}"],
    },
    "faq": {
        "en": ["{product} FAQ", "Partner FAQ: {product}"],
        "uk": ["{product}: часті запитання", "FAQ для партнерів: {product}"],
        "ru": ["{product}: часто задаваемые вопросы", "FAQ для партнёров: {product}"],
    },
}  # fmt: skip

_OPENERS: dict[str, dict[str, list[str]]] = {
    "white_paper": {
        "en": [
            "This white paper looks at why {ind_pl} are rethinking how they collect and use "
            "operational data, and where {product} fits into that shift.",
            "A vendor-neutral white paper on the business case for connected operations "
            "{ind_for}, written for partners who open the first conversation with a new account.",
        ],
        "uk": [
            "Біла книга пояснює, чому {ind_pl} переглядають підходи до збору та використання "
            "операційних даних і яке місце в цьому займає {product}.",
            "Аналітичний документ про економіку цифрових рішень {ind_for}, підготовлений для "
            "партнерів, які відкривають першу розмову з новим клієнтом.",
        ],
        "ru": [
            "Белая книга объясняет, почему {ind_pl} пересматривают подходы к сбору и "
            "использованию операционных данных и какое место в этом занимает {product}.",
            "Аналитический документ об экономике цифровых решений {ind_for}, подготовленный для "
            "партнёров, которые открывают первый разговор с новым клиентом.",
        ],
    },
    "article": {
        "en": [
            "A thought-leadership article on the trends reshaping {ind_name} over the next "
            "three years and what they mean for the partners who serve it.",
            "An opinion piece by Stratosfera's industry team: why data from the shop floor, the "
            "branch or the field is becoming a board-level topic in {ind_name}.",
        ],
        "uk": [
            "Експертна стаття про тренди, які змінять галузь у найближчі три роки, з прикладами "
            "для сегмента «{ind_title}».",
            "Колонка галузевої команди Stratosfera: чому дані з цехів, відділень і віддалених "
            "об'єктів стають темою для рад директорів у сегменті «{ind_title}».",
        ],
        "ru": [
            "Экспертная статья о трендах, которые изменят отрасль в ближайшие три года, с "
            "примерами для сегмента «{ind_title}».",
            "Колонка отраслевой команды Stratosfera: почему данные из цехов, отделений и "
            "удалённых объектов становятся темой для советов директоров в сегменте «{ind_title}».",
        ],
    },
    "case_study": {
        "en": [
            "Case study: how {customer} deployed {product} with a local partner and what "
            "changed in the first year.",
            "A customer story from {ind_name}: {customer} replaced a patchwork of legacy tools "
            "with {product}.",
        ],
        "uk": [
            "Кейс: {customer} — впровадження {product} разом із місцевим партнером і результати "
            "першого року.",
            "Історія клієнта із сегмента «{ind_title}»: {customer} замінює розрізнені застарілі "
            "інструменти на {product}.",
        ],
        "ru": [
            "Кейс: {customer} — внедрение {product} вместе с местным партнёром и результаты "
            "первого года.",
            "История клиента из сегмента «{ind_title}»: {customer} заменяет разрозненные "
            "устаревшие инструменты на {product}.",
        ],
    },
    "roi_calculator": {
        "en": [
            "An ROI calculator for {product} {ind_for}: enter the customer's own figures and get "
            "the payback period, net present value and three-year savings on one page.",
            "A spreadsheet ROI model that turns the customer's operating data into a business "
            "case for {product} that a CFO can check line by line.",
        ],
        "uk": [
            "Калькулятор ROI для {product} {ind_for}: введіть власні показники клієнта й "
            "отримайте термін окупності, чисту приведену вартість та економію за три роки на "
            "одній сторінці.",
            "Модель розрахунку ROI в електронній таблиці, яка перетворює операційні дані клієнта "
            "на бізнес-обґрунтування {product}, що його фінансовий директор може перевірити "
            "рядок за рядком.",
        ],
        "ru": [
            "Калькулятор ROI для {product} {ind_for}: введите собственные показатели клиента и "
            "получите срок окупаемости, чистую приведённую стоимость и экономию за три года на "
            "одной странице.",
            "Модель расчёта ROI в электронной таблице, которая превращает операционные данные "
            "клиента в бизнес-обоснование {product}, которое финансовый директор может проверить "
            "построчно.",
        ],
    },
    "tco_calculator": {
        "en": [
            "A total cost of ownership comparison for {product} over five years, covering "
            "hardware, licences, integration, support and the cost of internal staff.",
            "A TCO calculator that puts {product} side by side with the customer's current "
            "setup, so procurement sees the full five-year cost rather than the price list.",
        ],
        "uk": [
            "Порівняння сукупної вартості володіння {product} за п'ять років: обладнання, "
            "ліцензії, інтеграція, підтримка та витрати на власний персонал.",
            "Калькулятор TCO, що зіставляє {product} із поточним рішенням клієнта, щоб відділ "
            "закупівель бачив повну вартість за п'ять років, а не лише прайс-лист.",
        ],
        "ru": [
            "Сравнение совокупной стоимости владения {product} за пять лет: оборудование, "
            "лицензии, интеграция, поддержка и затраты на собственный персонал.",
            "Калькулятор TCO, который сопоставляет {product} с текущим решением клиента, чтобы "
            "отдел закупок видел полную стоимость за пять лет, а не только прайс-лист.",
        ],
    },
    "tech_commercial_calculator": {
        "en": [
            "A technical-commercial proposal calculator for {product}: size the architecture, "
            "pick the licence bundle and get a priced bill of materials for the proposal.",
            "A configurator for experienced partners that turns the number of sites, data "
            "points and integrations into a sized {product} design with partner pricing and "
            "margin.",
        ],
        "uk": [
            "Калькулятор техніко-комерційної пропозиції для {product}: розрахуйте архітектуру, "
            "оберіть пакет ліцензій і отримайте специфікацію з цінами, готову до включення в "
            "пропозицію.",
            "Конфігуратор для досвідчених партнерів, який перетворює кількість об'єктів, точок "
            "даних та інтеграцій на розраховане рішення {product} з партнерськими цінами та "
            "маржею.",
        ],
        "ru": [
            "Калькулятор технико-коммерческого предложения для {product}: рассчитайте "
            "архитектуру, выберите пакет лицензий и получите спецификацию с ценами, готовую "
            "для включения в предложение.",
            "Конфигуратор для опытных партнёров, который превращает количество объектов, точек "
            "данных и интеграций в рассчитанное решение {product} с партнёрскими ценами и "
            "маржой.",
        ],
    },
    "battlecard": {
        "en": [
            "Battlecard against {competitor}: where {product} wins, where it does not, and the "
            "five questions that move the conversation onto our strengths.",
            "A competitive brief for deals where the customer is also talking to {competitor}, "
            "with objections to expect and proof points for {product}.",
        ],
        "uk": [
            "Бойова картка проти {competitor}: де {product} виграє, де ні, і п'ять запитань, які "
            "переводять розмову на наші сильні сторони.",
            "Конкурентна довідка для угод, у яких клієнт також веде переговори з {competitor}: "
            "типові заперечення, аргументи та підтвердження для {product}.",
        ],
        "ru": [
            "Боевая карточка против {competitor}: где {product} выигрывает, где нет, и пять "
            "вопросов, которые переводят разговор на наши сильные стороны.",
            "Конкурентная справка для сделок, в которых клиент также ведёт переговоры с "
            "{competitor}: типичные возражения, аргументы и подтверждения для {product}.",
        ],
    },
    "datasheet": {
        "en": [
            "Datasheet for {product}: key specifications, supported protocols, deployment "
            "options and ordering codes on two pages.",
            "A product datasheet summarising what {product} does, the editions available and "
            "the certifications it holds.",
        ],
        "uk": [
            "Технічний опис {product}: ключові характеристики, підтримувані протоколи, варіанти "
            "розгортання та коди для замовлення на двох сторінках.",
            "Інформаційний листок продукту: що вміє {product}, які редакції доступні та які "
            "сертифікати має рішення.",
        ],
        "ru": [
            "Технический лист {product}: ключевые характеристики, поддерживаемые протоколы, "
            "варианты развёртывания и коды для заказа на двух страницах.",
            "Информационный лист продукта: что умеет {product}, какие редакции доступны и какие "
            "сертификаты есть у решения.",
        ],
    },
    "presentation": {
        "en": [
            "A customer-facing presentation introducing {product} {ind_for}: the problem, the "
            "approach, three reference customers and a suggested next step.",
            "A ready-to-present slide deck for a first meeting, with speaker notes and a short "
            "demo script for {product}.",
        ],
        "uk": [
            "Презентація для клієнта, що знайомить із {product} {ind_for}: проблема, підхід, "
            "три референтні клієнти та пропонований наступний крок.",
            "Готова презентація для першої зустрічі з нотатками доповідача та коротким "
            "сценарієм демонстрації {product}.",
        ],
        "ru": [
            "Презентация для клиента, знакомящая с {product} {ind_for}: проблема, подход, три "
            "референсных клиента и предлагаемый следующий шаг.",
            "Готовая презентация для первой встречи с заметками докладчика и коротким "
            "сценарием демонстрации {product}.",
        ],
    },
    "webinar": {
        "en": [
            "Recording of a 45-minute webinar in which Stratosfera engineers and a partner walk "
            "through a live {product} deployment {ind_for}.",
            "An on-demand webinar: practical questions customers ask about {product}, answered "
            "by the product team, with the slides attached.",
        ],
        "uk": [
            "Запис 45-хвилинного вебінару, на якому інженери Stratosfera разом із партнером "
            "показують реальне впровадження {product} {ind_for}.",
            "Вебінар у записі: практичні запитання клієнтів щодо {product} і відповіді "
            "продуктової команди, слайди додаються.",
        ],
        "ru": [
            "Запись 45-минутного вебинара, на котором инженеры Stratosfera вместе с партнёром "
            "показывают реальное внедрение {product} {ind_for}.",
            "Вебинар в записи: практические вопросы клиентов о {product} и ответы продуктовой "
            "команды, слайды прилагаются.",
        ],
    },
    "training_course": {
        "en": [
            "A self-paced training course on {product}: six modules with short videos, "
            "hands-on labs and a final test that counts towards partner certification.",
            "An instructor-led course that prepares partner engineers to install, configure "
            "and support {product} without help from the vendor.",
        ],
        "uk": [
            "Курс для самостійного навчання з {product}: шість модулів із короткими відео, "
            "практичними лабораторними роботами та підсумковим тестом, що зараховується до "
            "сертифікації партнера.",
            "Курс з інструктором, який готує інженерів партнера встановлювати, налаштовувати "
            "та підтримувати {product} без допомоги вендора.",
        ],
        "ru": [
            "Курс для самостоятельного обучения по {product}: шесть модулей с короткими видео, "
            "практическими лабораторными работами и итоговым тестом, который засчитывается в "
            "сертификацию партнёра.",
            "Курс с инструктором, который готовит инженеров партнёра устанавливать, "
            "настраивать и поддерживать {product} без помощи вендора.",
        ],
    },
    "onboarding_guide": {
        "en": [
            "An onboarding guide for new Stratosfera partners: how the partner programme works, "
            "where to find price lists and demo kits, and how to register the first deal.",
            "A first-90-days checklist for partners starting with {product}: who to contact, "
            "which trainings to book and which assets to show customers first.",
        ],
        "uk": [
            "Посібник для нових партнерів Stratosfera: як працює партнерська програма, де "
            "знайти прайс-листи та демо-комплекти і як зареєструвати першу угоду.",
            "Чек-лист перших 90 днів для партнерів, які починають працювати з {product}: до "
            "кого звертатися, які тренінги забронювати та які матеріали показувати клієнтам "
            "насамперед.",
        ],
        "ru": [
            "Руководство для новых партнёров Stratosfera: как устроена партнёрская программа, "
            "где найти прайс-листы и демо-комплекты и как зарегистрировать первую сделку.",
            "Чек-лист первых 90 дней для партнёров, которые начинают работать с {product}: к "
            "кому обращаться, какие тренинги забронировать и какие материалы показывать "
            "клиентам в первую очередь.",
        ],
    },
    "playbook": {
        "en": [
            "A sales playbook for {product} {ind_for}: target accounts, qualification "
            "questions, the value story by buyer role and the assets to use at each stage.",
            "A step-by-step play for running a {product} pilot that converts into a full "
            "rollout, with timelines, success criteria and templates.",
        ],
        "uk": [
            "Сейлз-плейбук для {product} {ind_for}: цільові клієнти, кваліфікаційні запитання, "
            "ціннісна пропозиція для кожної ролі покупця та матеріали для кожного етапу.",
            "Покроковий сценарій проведення пілоту {product}, який переходить у повне "
            "впровадження: терміни, критерії успіху та шаблони.",
        ],
        "ru": [
            "Сейлз-плейбук для {product} {ind_for}: целевые клиенты, квалификационные вопросы, "
            "ценностное предложение для каждой роли покупателя и материалы для каждого этапа.",
            "Пошаговый сценарий проведения пилота {product}, который переходит в полноценное "
            "внедрение: сроки, критерии успеха и шаблоны.",
        ],
    },
    "proposal_template": {
        "en": [
            "An editable proposal template for {product}, with scope, implementation plan, "
            "acceptance criteria and commercial terms already phrased in the customer's terms.",
            "A commercial offer template {ind_for}: cover letter, solution description, pricing "
            "table and standard terms that legal has already approved.",
        ],
        "uk": [
            "Редагований шаблон пропозиції для {product}: обсяг робіт, план впровадження, "
            "критерії приймання та комерційні умови, уже сформульовані мовою клієнта.",
            "Шаблон комерційної пропозиції {ind_for}: супровідний лист, опис рішення, цінова "
            "таблиця та стандартні умови, вже погоджені юристами.",
        ],
        "ru": [
            "Редактируемый шаблон предложения для {product}: объём работ, план внедрения, "
            "критерии приёмки и коммерческие условия, уже сформулированные языком клиента.",
            "Шаблон коммерческого предложения {ind_for}: сопроводительное письмо, описание "
            "решения, ценовая таблица и стандартные условия, уже согласованные юристами.",
        ],
    },
    "reference_architecture": {
        "en": [
            "A reference architecture for {product} {ind_for}: network zones, data flows, "
            "sizing rules and the integration points with ERP and MES systems.",
            "A validated design for deploying {product} across many sites, with high "
            "availability, security hardening and a bill of materials for three sizes.",
        ],
        "uk": [
            "Референтна архітектура {product} {ind_for}: мережеві зони, потоки даних, правила "
            "розрахунку потужностей і точки інтеграції з ERP та MES.",
            "Перевірений проєкт розгортання {product} на багатьох об'єктах із високою "
            "доступністю, посиленням безпеки та специфікацією для трьох типорозмірів.",
        ],
        "ru": [
            "Референсная архитектура {product} {ind_for}: сетевые зоны, потоки данных, правила "
            "расчёта мощностей и точки интеграции с ERP и MES.",
            "Проверенный проект развёртывания {product} на множестве объектов с высокой "
            "доступностью, усилением безопасности и спецификацией для трёх типоразмеров.",
        ],
    },
    "faq": {
        "en": [
            "Frequently asked questions about {product}: licensing, support hours, data "
            "residency, upgrade policy and what happens when a device goes offline.",
            "An FAQ collected from partner calls: the twenty questions customers ask most often "
            "about {product}, with short answers you can paste into an email.",
        ],
        "uk": [
            "Часті запитання про {product}: ліцензування, години підтримки, місце зберігання "
            "даних, політика оновлень і що відбувається, коли пристрій втрачає зв'язок.",
            "FAQ, зібраний за дзвінками партнерів: двадцять запитань, які клієнти найчастіше "
            "ставлять про {product}, з короткими відповідями, які можна вставити в лист.",
        ],
        "ru": [
            "Часто задаваемые вопросы о {product}: лицензирование, часы поддержки, место "
            "хранения данных, политика обновлений и что происходит, когда устройство теряет "
            "связь.",
            "FAQ, собранный по звонкам партнёров: двадцать вопросов, которые клиенты чаще всего "
            "задают о {product}, с короткими ответами, которые можно вставить в письмо.",
        ],
    },
}

# What is inside, per type (case studies use the result sentence, battlecards the competitor).
_TYPE_BODY: dict[str, dict[str, str]] = {
    "white_paper": {
        "en": "It includes benchmark figures from recent industry studies and a one-page summary "
        "to forward to the customer.",
        "uk": "Містить контрольні показники з нещодавніх галузевих досліджень і резюме на одну "
        "сторінку, яке можна переслати клієнту.",
        "ru": "Содержит ориентиры из недавних отраслевых исследований и резюме на одну "
        "страницу, которое можно переслать клиенту.",
    },
    "article": {
        "en": "Share it on social media or in a newsletter to start conversations with accounts "
        "that are not yet in the pipeline.",
        "uk": "Поширюйте її в соцмережах або в розсилці, щоб почати розмову з клієнтами, яких "
        "ще немає у воронці.",
        "ru": "Распространяйте её в соцсетях или в рассылке, чтобы начать разговор с "
        "клиентами, которых ещё нет в воронке.",
    },
    "roi_calculator": {
        "en": "Inputs include the number of sites and machines, the cost of an hour of downtime "
        "and energy tariffs; every assumption is editable and sourced.",
        "uk": "Серед вхідних даних — кількість майданчиків і одиниць обладнання, вартість "
        "години простою та тарифи на енергію; кожне припущення можна змінити.",
        "ru": "Среди входных данных — количество площадок и единиц оборудования, стоимость "
        "часа простоя и тарифы на энергию; каждое допущение можно изменить.",
    },
    "tco_calculator": {
        "en": "Assumptions for hardware refresh cycles, licence indexation and staff rates can "
        "be adjusted to the customer's reality.",
        "uk": "Припущення щодо циклів оновлення обладнання, індексації ліцензій і ставок "
        "персоналу можна підлаштувати під реалії клієнта.",
        "ru": "Допущения о циклах обновления оборудования, индексации лицензий и ставках "
        "персонала можно подстроить под реалии клиента.",
    },
    "tech_commercial_calculator": {
        "en": "The output is a priced bill of materials and an architecture diagram that drop "
        "straight into the proposal.",
        "uk": "Результат — специфікація з цінами та схема архітектури, які можна одразу "
        "вставити в пропозицію.",
        "ru": "Результат — спецификация с ценами и схема архитектуры, которые можно сразу "
        "вставить в предложение.",
    },
    "datasheet": {
        "en": "It lists the supported integrations, the hosting options (on premises, private "
        "cloud or Stratos Cloud) and the service levels of each edition.",
        "uk": "У ньому перелічено підтримувані інтеграції, варіанти розміщення (локально, у "
        "приватній хмарі або в Stratos Cloud) та рівні сервісу для кожної редакції.",
        "ru": "В нём перечислены поддерживаемые интеграции, варианты размещения (локально, в "
        "частном облаке или в Stratos Cloud) и уровни сервиса для каждой редакции.",
    },
    "presentation": {
        "en": "The deck is editable, so partners can add their own logo, references and services.",
        "uk": "Презентацію можна редагувати: партнер додає власний логотип, референції та послуги.",
        "ru": "Презентацию можно редактировать: партнёр добавляет собственный логотип, "
        "референции и услуги.",
    },
    "webinar": {
        "en": "A transcript and the Q&A session are included for partners who prefer to read.",
        "uk": "До запису додано стенограму та сесію запитань і відповідей для тих, хто віддає "
        "перевагу читанню.",
        "ru": "К записи приложены стенограмма и сессия вопросов и ответов для тех, кто "
        "предпочитает читать.",
    },
    "training_course": {
        "en": "Completing it is required for the partner's first technical certification on "
        "the product.",
        "uk": "Проходження курсу є обов'язковим для першої технічної сертифікації партнера з "
        "продукту.",
        "ru": "Прохождение курса обязательно для первой технической сертификации партнёра по "
        "продукту.",
    },
    "onboarding_guide": {
        "en": "It links to the portal sections new partners miss most often, including lead "
        "registration and demo equipment loans.",
        "uk": "Містить посилання на розділи порталу, які нові партнери найчастіше пропускають, "
        "зокрема реєстрацію лідів і позику демо-обладнання.",
        "ru": "Содержит ссылки на разделы портала, которые новые партнёры чаще всего "
        "пропускают, включая регистрацию лидов и выдачу демо-оборудования.",
    },
    "playbook": {
        "en": "Each step names the asset to send, the question to ask and the signal that the "
        "deal is ready to move on.",
        "uk": "Для кожного кроку вказано, який матеріал надіслати, яке запитання поставити і за "
        "якою ознакою угода готова рухатися далі.",
        "ru": "Для каждого шага указано, какой материал отправить, какой вопрос задать и по "
        "какому признаку сделка готова двигаться дальше.",
    },
    "proposal_template": {
        "en": "Sections in brackets are the only ones a partner has to fill in before sending.",
        "uk": "Заповнити перед надсиланням потрібно лише розділи у квадратних дужках.",
        "ru": "Перед отправкой нужно заполнить только разделы в квадратных скобках.",
    },
    "reference_architecture": {
        "en": "Diagrams are provided in an editable format, and every component is mapped to an "
        "orderable item.",
        "uk": "Схеми надано у форматі, що редагується, а кожен компонент прив'язано до позиції "
        "для замовлення.",
        "ru": "Схемы предоставлены в редактируемом формате, а каждый компонент привязан к "
        "позиции для заказа.",
    },
    "faq": {
        "en": "The answers are reviewed by the support team every quarter.",
        "uk": "Відповіді щокварталу перевіряє команда підтримки.",
        "ru": "Ответы ежеквартально проверяет команда поддержки.",
    },
}

_AUDIENCE: dict[str, dict[str, list[str]]] = {
    "basic": {
        "en": [
            "No prior experience with Stratosfera is needed: the material explains the basics "
            "and suits partners who are just starting with the portfolio.",
            "Written in plain language for sales people new to the topic, it takes about ten "
            "minutes to read.",
        ],
        "uk": [
            "Попередній досвід роботи зі Stratosfera не потрібен: матеріал пояснює основи й "
            "підійде партнерам, які тільки починають працювати з портфелем.",
            "Написано простою мовою для продавців, які лише знайомляться з темою; на читання "
            "потрібно близько десяти хвилин.",
        ],
        "ru": [
            "Предварительный опыт работы со Stratosfera не нужен: материал объясняет основы и "
            "подойдёт партнёрам, которые только начинают работать с портфелем.",
            "Написано простым языком для продавцов, которые только знакомятся с темой; на "
            "чтение нужно около десяти минут.",
        ],
    },
    "intermediate": {
        "en": [
            "It assumes a working knowledge of the portfolio and focuses on arguments and "
            "numbers a partner can reuse with the customer.",
            "Best used by partners who have closed a few Stratosfera deals and want a "
            "structured way to present value.",
        ],
        "uk": [
            "Передбачає базове знання портфеля й зосереджується на аргументах і цифрах, які "
            "партнер може використати в розмові з клієнтом.",
            "Найкраще підходить партнерам, які вже закрили кілька угод зі Stratosfera і хочуть "
            "структуровано показувати цінність.",
        ],
        "ru": [
            "Предполагает базовое знание портфеля и сосредоточен на аргументах и цифрах, "
            "которые партнёр может использовать в разговоре с клиентом.",
            "Лучше всего подходит партнёрам, которые уже закрыли несколько сделок со "
            "Stratosfera и хотят структурированно показывать ценность.",
        ],
    },
    "advanced": {
        "en": [
            "Intended for experienced partner teams: it goes into sizing, integration details "
            "and the commercial levers of complex projects.",
            "It assumes hands-on experience with Stratosfera deployments and skips the "
            "introductions.",
        ],
        "uk": [
            "Розраховано на досвідчені команди партнерів: матеріал заглиблюється в розрахунок "
            "потужностей, деталі інтеграції та комерційні важелі складних проєктів.",
            "Передбачає практичний досвід впроваджень Stratosfera і не витрачає час на вступні "
            "пояснення.",
        ],
        "ru": [
            "Рассчитано на опытные команды партнёров: материал углубляется в расчёт мощностей, "
            "детали интеграции и коммерческие рычаги сложных проектов.",
            "Предполагает практический опыт внедрений Stratosfera и не тратит время на вводные "
            "объяснения.",
        ],
    },
    "expert": {
        "en": [
            "Expert-level content for certified architects of strategic partners, with design "
            "trade-offs, performance limits and edge cases.",
            "Deep technical material for partners who design multi-site rollouts and need the "
            "details the vendor's own engineers use.",
        ],
        "uk": [
            "Експертний рівень для сертифікованих архітекторів стратегічних партнерів: "
            "компроміси проєктування, межі продуктивності та нетипові сценарії.",
            "Глибокий технічний матеріал для партнерів, які проєктують багатооб'єктні "
            "впровадження і потребують тих самих деталей, що й інженери вендора.",
        ],
        "ru": [
            "Экспертный уровень для сертифицированных архитекторов стратегических партнёров: "
            "компромиссы проектирования, пределы производительности и нетипичные сценарии.",
            "Глубокий технический материал для партнёров, которые проектируют многообъектные "
            "внедрения и нуждаются в тех же деталях, что и инженеры вендора.",
        ],
    },
}

_STAGE_SENTENCE = {
    "en": ("Use it at the {stages} stage.", "Use it at the {stages} stages.",
           "It is useful at any stage of a deal."),
    "uk": ("Рекомендовано для етапу {stages}.", "Рекомендовано для етапів {stages}.",
           "Стане в пригоді на будь-якому етапі угоди."),
    "ru": ("Рекомендуется для этапа {stages}.", "Рекомендуется для этапов {stages}.",
           "Пригодится на любом этапе сделки."),
}  # fmt: skip
_ROLE_SENTENCE = {
    "en": "Main audience on the customer side: {roles}.",
    "uk": "Основна аудиторія з боку клієнта: {roles}.",
    "ru": "Основная аудитория со стороны клиента: {roles}.",
}
_PRODUCT_SENTENCE = {"en": "{name} is {desc}.", "uk": "{name} — {desc}.", "ru": "{name} — {desc}."}
_SECOND_PRODUCT = {
    "en": "The material also covers the integration with {product2}.",
    "uk": "Матеріал також описує інтеграцію з {product2}.",
    "ru": "Материал также описывает интеграцию с {product2}.",
}
_RESULT_SENTENCE = {
    "en": "Within the first year {result}.",
    "uk": "Уже за перший рік {result}.",
    "ru": "Уже за первый год {result}.",
}
_TYPICAL_RESULT = {
    "en": "A typical result reported by customers: {result}.",
    "uk": "Типовий результат, про який повідомляють клієнти: {result}.",
    "ru": "Типичный результат, о котором сообщают клиенты: {result}.",
}
_CTA = {
    "en": "Contact your Stratosfera channel manager to arrange a joint call or borrow a demo kit.",
    "uk": "Зверніться до свого менеджера каналу Stratosfera, щоб домовитися про спільний "
    "дзвінок або отримати демо-комплект.",
    "ru": "Обратитесь к своему менеджеру канала Stratosfera, чтобы договориться о совместном "
    "звонке или получить демо-комплект.",
}
_AND = {"en": "and", "uk": "та", "ru": "и"}
_HEADINGS = {
    "en": ("Overview", "The customer's challenge", "The solution", "What is inside",
           "How to use it", "Next steps"),
    "uk": ("Огляд", "Виклик для клієнта", "Рішення", "Що всередині", "Як використовувати",
           "Наступні кроки"),
    "ru": ("Обзор", "Задача клиента", "Решение", "Что внутри", "Как использовать",
           "Следующие шаги"),
}  # fmt: skip
_CALC_INPUTS = {
    "en": ["Number of sites and connected assets", "Cost of one hour of downtime or of one "
           "site visit", "Energy tariffs and current consumption",
           "Licence edition and contract term"],
    "uk": ["Кількість об'єктів і підключених одиниць обладнання", "Вартість години простою "
           "або одного виїзду на об'єкт", "Тарифи на енергію та поточне споживання",
           "Редакція ліцензії та строк договору"],
    "ru": ["Количество объектов и подключённых единиц оборудования", "Стоимость часа простоя "
           "или одного выезда на объект", "Тарифы на энергию и текущее потребление",
           "Редакция лицензии и срок договора"],
}  # fmt: skip
_BATTLE_QUESTIONS = {
    "en": ["How many separate contracts will the customer sign for hardware, software and "
           "analytics?", "Who supports the system locally, in the customer's language, at "
           "3 a.m.?", "What does year five cost, including licences and upgrades?"],
    "uk": ["Скільки окремих договорів клієнт підпише на обладнання, програмне забезпечення та "
           "аналітику?", "Хто підтримуватиме систему на місці, мовою клієнта, о третій ночі?",
           "Скільки коштуватиме п'ятий рік експлуатації з урахуванням ліцензій та оновлень?"],
    "ru": ["Сколько отдельных договоров клиент подпишет на оборудование, программное "
           "обеспечение и аналитику?", "Кто будет поддерживать систему на месте, на языке "
           "клиента, в три часа ночи?", "Сколько будет стоить пятый год эксплуатации с учётом "
           "лицензий и обновлений?"],
}  # fmt: skip

# --- deal notes (used by demo.generator) ------------------------------------------------------

DEAL_NEEDS: dict[str, dict[str, str]] = {
    "en": {
        "cfo": "The CFO wants a payback calculation.",
        "cio": "The CIO asks about security and infrastructure requirements.",
        "cto": "The CTO asks how it integrates with the existing SCADA.",
        "technical_buyer": "Their engineers want a detailed specification.",
        "business_owner": "The owner wants to see similar customer cases.",
        "procurement": "Procurement is comparing prices and delivery terms.",
        "end_user": "Operators asked for a live demo of the interface.",
    },
    "uk": {
        "cfo": "Фінансовий директор просить розрахунок окупності.",
        "cio": "ІТ-директор питає про вимоги до безпеки та інфраструктури.",
        "cto": "Технічний директор питає про інтеграцію з наявною SCADA.",
        "technical_buyer": "Інженери замовника чекають на детальну специфікацію.",
        "business_owner": "Власник хоче побачити схожі кейси.",
        "procurement": "Відділ закупівель порівнює ціни та умови постачання.",
        "end_user": "Оператори просять живу демонстрацію інтерфейсу.",
    },
    "ru": {
        "cfo": "Финансовый директор просит расчёт окупаемости.",
        "cio": "ИТ-директор спрашивает о требованиях к безопасности и инфраструктуре.",
        "cto": "Технический директор спрашивает об интеграции с существующей SCADA.",
        "technical_buyer": "Инженеры заказчика ждут детальную спецификацию.",
        "business_owner": "Владелец хочет увидеть похожие кейсы.",
        "procurement": "Отдел закупок сравнивает цены и условия поставки.",
        "end_user": "Операторы просят живую демонстрацию интерфейса.",
    },
}
DEAL_OPENINGS: dict[str, list[str]] = {
    "en": [
        "Prospect in {ind_name} looking at {product} for {sites} sites.",
        "Follow-up with an account in {ind_name} about {product}; {sites} sites in scope.",
    ],
    "uk": [
        "Клієнт із сегмента «{ind_title}» розглядає {product}, кількість об'єктів — {sites}.",
        "Повторна зустріч із клієнтом із сегмента «{ind_title}» щодо {product}; об'єктів у "
        "проєкті: {sites}.",
    ],
    "ru": [
        "Клиент из сегмента «{ind_title}» рассматривает {product}, количество объектов — {sites}.",
        "Повторная встреча с клиентом из сегмента «{ind_title}» по {product}; объектов в "
        "проекте: {sites}.",
    ],
}
DEAL_COMPETITION: dict[str, list[str]] = {
    "en": ["Also talking to {competitor}.", "The incumbent is {competitor}; they want an "
           "alternative."],
    "uk": ["Паралельно розглядає пропозицію {competitor}.", "Зараз у клієнта стоїть рішення "
           "{competitor}, шукають альтернативу."],
    "ru": ["Параллельно рассматривает предложение {competitor}.", "Сейчас у клиента стоит "
           "решение {competitor}, ищут альтернативу."],
}  # fmt: skip
DEAL_BUDGET = {
    "en": "Budget around {size}k EUR.",
    "uk": "Бюджет орієнтовно {size} тис. євро.",
    "ru": "Бюджет ориентировочно {size} тыс. евро.",
}


def industry_words(industry: str | None, language: str) -> dict[str, Any]:
    """The phrases of one industry in one language (the generic ones when `industry` is None
    or unknown)."""
    entry = INDUSTRIES.get(industry or "", {}).get(language)
    words = dict(entry if entry is not None else GENERIC_INDUSTRY[language])
    words.setdefault("name", words["title"])
    return words


def deal_note(
    *,
    language: str,
    industry: str | None,
    products: list[str],
    competitors: list[str],
    buyer_role: str | None,
    size: float | None,
    rnd: random.Random,
) -> str:
    """A short CRM-style note about a deal, in `language`, naming its industry, product,
    competitor and what the buyer asks for."""
    lang = language if language in LANGUAGES else "en"
    ind = industry_words(industry, lang)
    product = (
        PRODUCTS[products[0]]["name"] if products and products[0] in PRODUCTS else ("Stratosfera")
    )
    parts = [
        rnd.choice(DEAL_OPENINGS[lang]).format(
            ind_name=ind["name"], ind_title=ind["title"], product=product, sites=rnd.randint(3, 60)
        )
    ]
    if competitors:
        name = COMPETITORS.get(competitors[0], {}).get("name", competitors[0])
        parts.append(rnd.choice(DEAL_COMPETITION[lang]).format(competitor=name))
    if buyer_role in DEAL_NEEDS[lang]:
        parts.append(DEAL_NEEDS[lang][buyer_role])
    if size is not None and rnd.random() < 0.6:
        parts.append(DEAL_BUDGET[lang].format(size=max(1, round(size / 1000))))
    return " ".join(parts)


# --- asset profiles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    """How an asset type is usually tagged: stage probabilities, depths, roles, and so on."""

    weight: float
    stages: dict[str, float]
    any_stage: float
    depths: dict[str, float]
    roles: tuple[str, ...]
    generic_industry: float
    min_tier: dict[str, float] = field(default_factory=dict)


_PROFILES: dict[str, _Profile] = {
    "white_paper": _Profile(8, {"prospecting": 0.9, "qualification": 0.6, "discovery": 0.4},
                            0.08, {"basic": 0.5, "intermediate": 0.5},
                            ("cio", "business_owner", "cto"), 0.3),
    "article": _Profile(6, {"prospecting": 0.95, "qualification": 0.5}, 0.1,
                        {"basic": 0.8, "intermediate": 0.2}, ("business_owner", "cio"), 0.35),
    "case_study": _Profile(12, {"discovery": 0.7, "solution": 0.8, "negotiation": 0.4,
                                "qualification": 0.2}, 0.05,
                           {"intermediate": 0.7, "advanced": 0.3},
                           ("business_owner", "cfo", "cio", "technical_buyer"), 0.0),
    "roi_calculator": _Profile(6, {"solution": 0.8, "negotiation": 0.9, "discovery": 0.2}, 0.0,
                               {"intermediate": 0.6, "advanced": 0.4},
                               ("cfo", "business_owner"), 0.3),
    "tco_calculator": _Profile(4, {"negotiation": 0.9, "solution": 0.6, "closing": 0.3}, 0.0,
                               {"intermediate": 0.4, "advanced": 0.6},
                               ("cfo", "procurement", "cio"), 0.4),
    "tech_commercial_calculator": _Profile(4, {"solution": 0.95, "negotiation": 0.6}, 0.0,
                                           {"advanced": 0.5, "expert": 0.5},
                                           ("technical_buyer", "cto"), 0.5,
                                           {"gold": 0.3, "platinum": 0.25}),
    "battlecard": _Profile(7, {"qualification": 0.6, "discovery": 0.5, "negotiation": 0.8},
                           0.0, {"intermediate": 0.5, "advanced": 0.5},
                           ("cio", "cto", "procurement"), 0.6),
    "datasheet": _Profile(9, {"discovery": 0.8, "qualification": 0.5, "solution": 0.5}, 0.2,
                          {"basic": 0.6, "intermediate": 0.4},
                          ("technical_buyer", "cto", "end_user"), 0.7),
    "presentation": _Profile(8, {"prospecting": 0.7, "qualification": 0.7, "discovery": 0.5},
                             0.1, {"basic": 0.5, "intermediate": 0.5},
                             ("business_owner", "cio", "cfo"), 0.3),
    "webinar": _Profile(6, {"prospecting": 0.6, "discovery": 0.5, "post_sale": 0.3}, 0.2,
                        {"basic": 0.4, "intermediate": 0.5, "advanced": 0.1},
                        ("cio", "technical_buyer", "end_user"), 0.4),
    "training_course": _Profile(6, {"post_sale": 0.6, "discovery": 0.2}, 0.5,
                                {"basic": 0.5, "intermediate": 0.3, "advanced": 0.2},
                                ("end_user", "technical_buyer"), 0.8),
    "onboarding_guide": _Profile(4, {"prospecting": 0.4, "post_sale": 0.3}, 0.6,
                                 {"basic": 1.0}, ("end_user", "business_owner"), 1.0),
    "playbook": _Profile(5, {"qualification": 0.5, "discovery": 0.5, "solution": 0.4,
                             "negotiation": 0.3, "prospecting": 0.3}, 0.15,
                         {"intermediate": 0.6, "advanced": 0.4}, ("business_owner", "cio"), 0.3),
    "proposal_template": _Profile(4, {"solution": 0.8, "closing": 0.7, "negotiation": 0.3},
                                  0.0, {"intermediate": 0.6, "advanced": 0.4},
                                  ("procurement", "cfo", "business_owner"), 0.5),
    "reference_architecture": _Profile(5, {"solution": 0.9, "discovery": 0.5, "post_sale": 0.2},
                                       0.0, {"advanced": 0.5, "expert": 0.5},
                                       ("cto", "technical_buyer", "cio"), 0.4, {"gold": 0.15}),
    "faq": _Profile(6, {"post_sale": 0.6, "discovery": 0.3, "qualification": 0.3}, 0.4,
                    {"basic": 0.7, "intermediate": 0.3},
                    ("end_user", "technical_buyer", "procurement"), 0.8),
}  # fmt: skip
assert set(_PROFILES) == {t.value for t in AssetType}, "every asset type needs a profile"

_STAGE_ORDER = [s.value for s in Stage]
_MATURITIES = [m.value for m in Maturity]


def _pick(rnd: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rnd.choices(keys, weights=[weights[k] for k in keys])[0]


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_AND[lang]} {items[-1]}"


def _tidy(text: str) -> str:
    """Collapse the gaps an empty slot leaves ("для  :" -> "для:")."""
    text = " ".join(text.split())
    for bad, good in ((" :", ":"), (" ,", ","), (" .", "."), (" )", ")"), ("( ", "(")):
        text = text.replace(bad, good)
    return text.strip()


def word_count(text: str) -> int:
    """Words as the summary limits count them: whitespace-separated tokens."""
    return len(text.split())


@dataclass
class _Draft:
    """One asset row plus the sentences it was written from (reused for its document)."""

    row: dict[str, Any]
    parts: dict[str, str]
    slots: dict[str, str]


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _publish_date(rnd: random.Random, window_start: date, window_days: int) -> date:
    """Spread publish dates around the generator window: 60% in the year before it, 22% in
    its first 80%, 9% in its last 20% (cold-start assets), 9% in the 290 days after it."""
    r = rnd.random()
    cold_from = int(window_days * 0.8)
    if r < 0.60:
        lo, hi = window_start - timedelta(days=365), window_start - timedelta(days=1)
    elif r < 0.82:
        lo, hi = window_start, window_start + timedelta(days=cold_from - 1)
    elif r < 0.91:
        lo = window_start + timedelta(days=cold_from)
        hi = window_start + timedelta(days=window_days - 2)
    else:
        lo = window_start + timedelta(days=window_days)
        hi = lo + timedelta(days=290)
    return lo + timedelta(days=rnd.randint(0, max(0, (hi - lo).days)))


def _draft_asset(
    rnd: random.Random, asset_id: str, atype: str, lang: str, window_start: date, window_days: int
) -> _Draft:
    prof = _PROFILES[atype]
    # Industry and products, coherent with each other.
    industry: str | None = None
    if rnd.random() >= prof.generic_industry:
        industry = _pick(rnd, INDUSTRY_WEIGHTS)
    pool = INDUSTRY_PRODUCTS[industry] if industry else sorted(PRODUCTS)
    products = [rnd.choice(pool)]
    if rnd.random() < 0.2:
        other = [p for p in pool if p != products[0]]
        products.append(rnd.choice(other))
    competitors = [rnd.choice(sorted(COMPETITORS))] if atype == "battlecard" else []
    # Stages: each likely stage independently; sometimes "any stage" (empty).
    if rnd.random() < prof.any_stage:
        stages: list[str] = []
    else:
        stages = [s for s, p in prof.stages.items() if rnd.random() < p]
        if not stages:
            stages = [max(prof.stages, key=lambda s: prof.stages[s])]
        stages.sort(key=_STAGE_ORDER.index)
    depth = _pick(rnd, prof.depths)
    # Maturities the author wrote it for: around the depth, sometimes left empty.
    ideal = rank(Depth(depth)) * 4 / 3
    maturities = [m for i, m in enumerate(_MATURITIES) if abs(i - ideal) <= 1.2]
    if rnd.random() < 0.15:
        lo = max(0, _MATURITIES.index(maturities[0]) - 1)
        maturities = _MATURITIES[lo : _MATURITIES.index(maturities[-1]) + 1]
    if atype == "onboarding_guide":
        maturities = ["new"] if rnd.random() < 0.6 else ["new", "developing"]
    elif rnd.random() < 0.12:
        maturities = []
    roles = rnd.sample(list(prof.roles), k=min(len(prof.roles), rnd.choice((1, 1, 2))))
    regions: list[str] = []
    if rnd.random() < 0.08:
        regions = [rnd.choice(_LANGUAGE_REGIONS[lang])]
    min_tier = None
    r = rnd.random()
    for tier, p in prof.min_tier.items():
        if r < p:
            min_tier = tier
            break
        r -= p
    # Status and dates.
    r = rnd.random()
    status = "draft" if r < 0.04 else ("archived" if r < 0.055 else "published")
    published: date | None = _publish_date(rnd, window_start, window_days)
    expires: date | None = None
    window_end = window_start + timedelta(days=window_days)
    if status == "draft":
        published = None
    elif published is not None and (status == "archived" or rnd.random() < 0.06):
        if status == "archived" or rnd.random() < 0.6:  # already expired
            last = max(published + timedelta(days=61), window_end + timedelta(days=290))
            expires = published + timedelta(days=rnd.randint(60, (last - published).days))
        else:
            expires = window_end + timedelta(days=rnd.randint(365, 700))

    # Text.
    ind = industry_words(industry, lang)
    prod = PRODUCTS[products[0]]
    customer = rnd.choice(ind["customers"])
    slots = {
        "product": prod["name"],
        "product2": PRODUCTS[products[1]]["name"] if len(products) > 1 else "",
        "ind_for": ind["for"],
        "ind_title": ind["title"],
        "ind_name": ind["name"],
        "ind_pl": ind["pl"],
        "customer": customer,
        "customer_cap": customer[:1].upper() + customer[1:],
        "competitor": COMPETITORS[competitors[0]]["name"] if competitors else "",
    }
    variant = rnd.randrange(2)
    title = _tidy(_TITLES[atype][lang][variant].format(**slots))
    parts: dict[str, str] = {
        "opener": _tidy(_OPENERS[atype][lang][rnd.randrange(2)].format(**slots)),
        "product": _PRODUCT_SENTENCE[lang].format(name=prod["name"], desc=prod[lang]),
        "pain": rnd.choice(ind["pains"]),
    }
    result = RESULTS[products[0]][lang].format(pct=rnd.randint(12, 38))
    parts["result"] = result
    if atype == "case_study":
        parts["body"] = _RESULT_SENTENCE[lang].format(result=result)
    elif atype == "battlecard":
        parts["body"] = COMPETITORS[competitors[0]][lang]
    elif rnd.random() < 0.7:
        parts["body"] = _TYPE_BODY[atype][lang]
    if len(products) > 1:
        parts["product2"] = _SECOND_PRODUCT[lang].format(product2=slots["product2"])
    parts["audience"] = rnd.choice(_AUDIENCE[depth][lang])
    names = [STAGE_NAMES[lang][s] for s in stages]
    one, many, anyone = _STAGE_SENTENCE[lang]
    parts["stage"] = (
        anyone
        if not names
        else (one if len(names) == 1 else many).format(stages=_join(names, lang))
    )
    if rnd.random() < 0.6:
        parts["roles"] = _ROLE_SENTENCE[lang].format(
            roles=_join([ROLE_NAMES[lang][r] for r in roles], lang)
        )
    if regions:
        parts["region"] = REGIONS[regions[0]][lang]
    summary = _compose_summary(parts, lang)
    row = {
        "asset_id": asset_id,
        "title": title,
        "type": atype,
        "language": lang,
        "summary": summary,
        "products": products,
        "industries": [industry] if industry else [],
        "stages": stages,
        "maturities": maturities,
        "depth": depth,
        "buyer_roles": roles,
        "competitors": competitors,
        "regions": regions,
        "min_tier": min_tier,
        "status": status,
        "url": URL_PREFIX + asset_id,
        "published_at": _iso(published),
        "expires_at": _iso(expires),
        "document": None,
    }
    return _Draft(row=row, parts=parts, slots=slots)


_SUMMARY_ORDER = (
    "opener",
    "product",
    "pain",
    "body",
    "product2",
    "audience",
    "stage",
    "roles",
    "region",
)
_DROP_ORDER = ("roles", "product2", "pain", "body")


def _compose_summary(parts: dict[str, str], lang: str) -> str:
    """Join the parts in reading order, dropping optional ones above 150 words and adding a
    call to action below 40."""
    keep = [k for k in _SUMMARY_ORDER if k in parts]
    text = " ".join(parts[k] for k in keep)
    for key in _DROP_ORDER:
        if word_count(text) <= MAX_SUMMARY_WORDS:
            break
        if key in keep:
            keep.remove(key)
            text = " ".join(parts[k] for k in keep)
    if word_count(text) < MIN_SUMMARY_WORDS:
        text = f"{text} {_CTA[lang]}"
    return text


def _draft_assets(
    n: int,
    *,
    seed: int,
    window_start: str | date = DEMO_WINDOW_START,
    window_days: int = DEMO_WINDOW_DAYS,
    first_id: int = 1,
    id_width: int | None = None,
) -> list[_Draft]:
    rnd = random.Random(seed)
    start = window_start if isinstance(window_start, date) else date.fromisoformat(window_start)
    width = id_width or max(4, len(str(first_id + n - 1)))
    # Exact language shares: 35% Ukrainian, 15% Russian, the rest English.
    n_uk, n_ru = math.ceil(0.35 * n), round(0.15 * n)
    langs = ["uk"] * n_uk + ["ru"] * n_ru + ["en"] * max(0, n - n_uk - n_ru)
    langs = langs[:n]
    rnd.shuffle(langs)
    # Every type at least once (when n allows), the rest by the profile weights.
    type_names = list(_PROFILES)
    types = type_names[: min(n, len(type_names))]
    types += rnd.choices(
        type_names, weights=[_PROFILES[t].weight for t in type_names], k=n - len(types)
    )
    rnd.shuffle(types)
    return [
        _draft_asset(rnd, f"A{first_id + i:0{width}d}", types[i], langs[i], start, window_days)
        for i in range(n)
    ]


def build_assets(
    n: int,
    *,
    seed: int = DEMO_SEED,
    window_start: str | date = DEMO_WINDOW_START,
    window_days: int = DEMO_WINDOW_DAYS,
    first_id: int = 1,
) -> list[dict[str, Any]]:
    """`n` asset rows (ASSETS contract, lists as Python lists, dates as ISO strings).

    Languages 35% uk / 15% ru / 50% en; every asset type when n >= 16; publish dates spread
    around the window [window_start, window_start + window_days) so that about 9% fall in its
    last 20% (cold-start assets) and 9% after it. Deterministic for a given seed.
    """
    drafts = _draft_assets(
        n, seed=seed, window_start=window_start, window_days=window_days, first_id=first_id
    )
    return [d.row for d in drafts]


# --- partners -----------------------------------------------------------------------------------

_UA_CYR_ROOTS = [
    "Інтегра Систем", "Техносервіс Плюс", "Промавтоматика", "Енергоконтроль", "Датаплюс",
    "Смарт Індастрі", "Укрсистеми", "Галтех", "Дніпро Автоматика", "Слобожанський Інжиніринг",
    "Поділля Телеком", "Київ Датацентр", "Львівська Автоматизація", "Харків Інформ",
    "Одеса Логістик Сервіс", "Карпати ІТ", "Волинь Енергорішення", "Полтава Сенсор",
    "Буковина Телеметрія", "Запоріжжя Промсервіс", "Черкаси Сітьові Рішення", "Житомир ІнфоТех",
    "Вінниця Смарт Енерджі", "Таврія Автоматика", "Сіверські Системи", "Хмельницький Інжиніринг",
]  # fmt: skip
_UA_CITIES = [
    "Kyiv",
    "Lviv",
    "Dnipro",
    "Kharkiv",
    "Odesa",
    "Vinnytsia",
    "Zaporizhzhia",
    "Poltava",
    "Chernihiv",
    "Ternopil",
    "Uzhhorod",
    "Rivne",
    "Ivano-Frankivsk",
]
_EN_CORES = [
    "Automation",
    "Systems",
    "Integration",
    "Data Solutions",
    "Energy Solutions",
    "Telecom Service",
    "Smart Tech",
    "IT Group",
    "Industrial Solutions",
    "Networks",
]
_PL_CORES = [
    "Systemy Przemysłowe",
    "Automatyka",
    "Integracja IT",
    "Energia i Dane",
    "Telekom Serwis",
    "Technika Pomiarowa",
    "Sieci i Systemy",
    "Inżynieria Danych",
]
_PL_CITIES = [
    "Kraków",
    "Wrocław",
    "Gdańsk",
    "Poznań",
    "Łódź",
    "Katowice",
    "Lublin",
    "Rzeszów",
    "Szczecin",
    "Warszawa",
    "Bydgoszcz",
]
_BRANDS = [
    "Northbridge",
    "Bluefield",
    "Ironclad",
    "Meridian",
    "Silverline",
    "Keystone",
    "Brightwave",
    "Redstone",
    "Clearpath",
    "Highgate",
    "Westmark",
    "Oakridge",
    "Amberline",
    "Baltic Edge",
    "Nordvik",
    "Danube",
    "Carpathia",
    "Vistula",
    "Helios",
    "Corvus",
]
_DE_CORES = [
    "Automatisierung",
    "Systemtechnik",
    "Industrielösungen",
    "Datentechnik",
    "Netzwerke",
    "Energietechnik",
]
_REGION_WEIGHTS = {"ua": 0.45, "pl": 0.18, "baltics": 0.09, "md": 0.06, "dach": 0.09, "cee": 0.13}
_REGION_LANGUAGES: dict[str, list[tuple[list[str], float]]] = {
    "ua": [(["uk", "en"], 0.5), (["uk", "ru", "en"], 0.25), (["uk"], 0.15), (["uk", "ru"], 0.1)],
    "pl": [(["en"], 0.8), (["en", "uk"], 0.2)],
    "baltics": [(["en", "ru"], 0.6), (["en"], 0.4)],
    "md": [(["ru", "en"], 0.8), (["ru"], 0.2)],
    "dach": [(["en"], 1.0)],
    "cee": [(["en"], 0.75), (["en", "ru"], 0.25)],
}  # fmt: skip
_MATURITY_WEIGHTS = {
    "new": 0.22,
    "developing": 0.28,
    "established": 0.25,
    "advanced": 0.17,
    "strategic": 0.08,
}
_PARTNER_TYPES = {"reseller": 0.35, "integrator": 0.35, "distributor": 0.1, "service_provider": 0.2}
_JOINED = {
    "new": (2024, 2025),
    "developing": (2022, 2024),
    "established": (2019, 2023),
    "advanced": (2016, 2021),
    "strategic": (2012, 2018),
}
_TIERS = ["registered", "silver", "gold", "platinum"]


def _partner_name(rnd: random.Random, region: str) -> str:
    if region == "ua":
        if rnd.random() < 0.5:
            root = rnd.choice(_UA_CYR_ROOTS)
            return rnd.choice([f"ТОВ «{root}»", f"ПП «{root}»", f"{root}"])
        return f"{rnd.choice(_UA_CITIES)} {rnd.choice(_EN_CORES)}" + rnd.choice(
            ["", " LLC", " Group"]
        )
    if region == "pl":
        return f"{rnd.choice(_PL_CORES)} {rnd.choice(_PL_CITIES)} " + rnd.choice(
            ["Sp. z o.o.", "Sp. z o.o.", "S.A."]
        )
    if region == "dach":
        return f"{rnd.choice(_BRANDS)} {rnd.choice(_DE_CORES)} GmbH"
    suffix = {"baltics": ["OÜ", "UAB", "SIA"], "md": ["SRL"], "cee": ["s.r.o.", "Kft.", "d.o.o."]}
    return f"{rnd.choice(_BRANDS)} {rnd.choice(_EN_CORES)} {rnd.choice(suffix[region])}"


def build_partners(n: int, *, seed: int = DEMO_SEED, first_id: int = 1) -> list[dict[str, Any]]:
    """`n` partner rows (PARTNERS contract, lists as Python lists, joined_at ISO).

    Maturity ~ 22/28/25/17/8% new..strategic; tier follows maturity loosely (rank ~ 0.75 x
    maturity rank + noise); languages follow the region (Ukraine: uk + en/ru; Poland, DACH,
    CEE: en; Moldova: ru); more mature partners hold more product certifications and joined
    earlier. Names are unique. Deterministic for a given seed.
    """
    rnd = random.Random(seed + 1)
    width = max(4, len(str(first_id + n - 1)))
    seen: set[str] = set()
    rows = []
    for i in range(n):
        maturity = _pick(rnd, _MATURITY_WEIGHTS)
        m = _MATURITIES.index(maturity)
        tier_rank = min(3, max(0, round(m * 0.75 + rnd.gauss(0, 0.55))))
        region = _pick(rnd, _REGION_WEIGHTS)
        regions = [region]
        if rnd.random() < 0.15:
            extra = rnd.choice([r for r in _REGION_WEIGHTS if r != region])
            regions.append(extra)
        options = _REGION_LANGUAGES[region]
        languages = rnd.choices([o[0] for o in options], weights=[o[1] for o in options])[0]
        name = _partner_name(rnd, region)
        tries = 0
        while name in seen:
            tries += 1
            name = _partner_name(rnd, region) if tries < 20 else f"{name} {tries}"
        seen.add(name)
        industries = rnd.sample(list(INDUSTRY_WEIGHTS), k=rnd.choice((1, 1, 2, 2, 3)))
        related = sorted({p for ind in industries for p in INDUSTRY_PRODUCTS[ind]})
        n_cert = min(len(related), max(0, m + rnd.randint(-1, 2)))
        certified = sorted(rnd.sample(related, k=n_cert))
        y0, y1 = _JOINED[maturity]
        joined = date(y0, 1, 1) + timedelta(
            days=rnd.randint(0, (date(y1, 12, 31) - date(y0, 1, 1)).days)
        )
        rows.append(
            {
                "partner_id": f"P{first_id + i:0{width}d}",
                "name": name,
                "tier": _TIERS[tier_rank],
                "maturity": maturity,
                "type": _pick(rnd, _PARTNER_TYPES),
                "industries": industries,
                "regions": regions,
                "languages": list(languages),
                "certified_products": certified,
                "joined_at": joined.isoformat(),
            }
        )
    return rows


# --- the Ukrainian FAQ --------------------------------------------------------------------------

FAQ_SUMMARY = (
    "Короткий лікнеп про канали продажів B2B у форматі запитань і відповідей: у чому проблеми "
    "розвитку партнерів, які методики існують (управління каналами продажів, PRM, sales "
    "enablement та partner enablement), що вони дають і наскільки гострі ці проблеми на нашому "
    "ринку. Документ наводить дані галузевих досліджень про ефективність інструментів продажів "
    "і пояснює, чому партнерам потрібні релевантні матеріали відповідно до їхньої зрілості та "
    "етапу угоди, а менеджерам каналу — програмне забезпечення, що знімає з них рутинне "
    "навантаження."
)


def faq_asset(asset_id: str) -> dict[str, Any]:
    """The asset row of the Ukrainian partner-enablement FAQ (a white paper in Ukrainian)."""
    return {
        "asset_id": asset_id,
        "title": "Розвиток партнерів — FAQ про поняття",
        "type": "white_paper",
        "language": "uk",
        "summary": FAQ_SUMMARY,
        "products": [],
        "industries": [],
        "stages": ["prospecting", "qualification"],
        "maturities": ["new", "developing", "established"],
        "depth": "basic",
        "buyer_roles": ["business_owner"],
        "competitors": [],
        "regions": [],
        "min_tier": None,
        "status": "published",
        "url": URL_PREFIX + asset_id,
        "published_at": "2024-03-15",
        "expires_at": None,
        "document": f"documents/{FAQ_FILE}",
    }


# --- documents ----------------------------------------------------------------------------------

# (format, asset type, language) of the documents written beside the demo catalog.
_DOCUMENT_PLAN: list[tuple[str, str, str]] = [
    ("md", "white_paper", "en"), ("md", "white_paper", "uk"), ("md", "article", "ru"),
    ("md", "playbook", "en"), ("md", "battlecard", "uk"), ("md", "battlecard", "en"),
    ("txt.json", "faq", "en"), ("txt.json", "faq", "ru"), ("txt.json", "onboarding_guide", "uk"),
    ("txt.yaml", "training_course", "en"), ("txt.yaml", "webinar", "uk"),
    ("html", "case_study", "en"), ("html", "case_study", "uk"), ("html", "datasheet", "ru"),
    ("html", "datasheet", "en"),
    ("docx", "proposal_template", "en"), ("docx", "reference_architecture", "uk"),
    ("docx", "reference_architecture", "en"), ("docx", "proposal_template", "ru"),
    ("pdf", "roi_calculator", "uk"), ("pdf", "tco_calculator", "en"),
    ("pdf", "tech_commercial_calculator", "en"), ("pdf", "case_study", "ru"),
]  # fmt: skip


def _sections(draft: _Draft) -> list[tuple[str, list[str], list[str]]]:
    """(heading, paragraphs, bullets) of a full document built from an asset's sentences."""
    row, parts = draft.row, draft.parts
    lang, atype = row["language"], row["type"]
    h = _HEADINGS[lang]
    ind = industry_words(row["industries"][0] if row["industries"] else None, lang)
    solution = [parts["product"]]
    if "product2" in parts:
        solution.append(parts["product2"])
    solution.append(_TYPICAL_RESULT[lang].format(result=parts["result"]))
    inside = (
        [parts["body"]] if "body" in parts else [_TYPE_BODY.get(atype, _TYPE_BODY["faq"])[lang]]
    )
    bullets: list[str] = []
    if atype.endswith("calculator"):
        bullets = list(_CALC_INPUTS[lang])
    elif atype == "battlecard":
        bullets = list(_BATTLE_QUESTIONS[lang])
    usage = [parts["audience"], parts["stage"]]
    if "roles" in parts:
        usage.append(parts["roles"])
    if "region" in parts:
        usage.append(parts["region"])
    return [
        (h[0], [row["summary"]], []),
        (h[1], list(ind["pains"]), []),
        (h[2], solution, []),
        (h[3], inside, bullets),
        (h[4], usage, []),
        (h[5], [_CTA[lang]], []),
    ]


def _metadata(row: dict[str, Any]) -> dict[str, Any]:
    """The asset fields a document carries for standalone ingestion (all but `document`)."""
    return {k: v for k, v in row.items() if k != "document"}


def _plain_text(draft: _Draft) -> str:
    lines = [draft.row["title"], ""]
    for heading, paragraphs, bullets in _sections(draft):
        lines += [heading, ""]
        lines += [p + "\n" for p in paragraphs]
        if bullets:
            lines += [f"- {b}" for b in bullets] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _markdown(draft: _Draft) -> str:
    import yaml

    front = yaml.safe_dump(_metadata(draft.row), allow_unicode=True, sort_keys=False, width=1000)
    lines = [f"# {draft.row['title']}", ""]
    for heading, paragraphs, bullets in _sections(draft):
        lines += [f"## {heading}", ""]
        for p in paragraphs:
            lines += [p, ""]
        if bullets:
            lines += [f"- {b}" for b in bullets] + [""]
    return f"---\n{front}---\n\n" + "\n".join(lines).rstrip() + "\n"


def _html(draft: _Draft) -> str:
    from html import escape

    row = draft.row
    metas = [f'<meta name="description" content="{escape(row["summary"])}">']
    for key, value in _metadata(row).items():
        if key in ("title", "summary") or value in (None, []):
            continue
        text = ";".join(value) if isinstance(value, list) else str(value)
        metas.append(f'<meta name="asset:{key}" content="{escape(text)}">')
    body = [f"<h1>{escape(row['title'])}</h1>"]
    for heading, paragraphs, bullets in _sections(draft):
        body.append(f"<h2>{escape(heading)}</h2>")
        body += [f"<p>{escape(p)}</p>" for p in paragraphs]
        if bullets:
            body.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in bullets) + "</ul>")
    head = "\n".join(['<meta charset="utf-8">', f"<title>{escape(row['title'])}</title>", *metas])
    return (
        f'<!doctype html>\n<html lang="{row["language"]}">\n<head>\n{head}\n</head>\n'
        f"<body>\n<article>\n" + "\n".join(body) + "\n</article>\n</body>\n</html>\n"
    )


_FIXED_TIME = (2025, 1, 1, 0, 0, 0)


def _docx(draft: _Draft) -> bytes:
    """A DOCX rebuilt with fixed zip timestamps so that re-running gives the same bytes."""
    from datetime import datetime

    from docx import Document

    row = draft.row
    doc = Document()
    props = doc.core_properties
    props.title = row["title"]
    props.subject = row["type"]
    props.language = row["language"]
    props.keywords = ";".join(row["products"] + row["industries"])
    props.author = VENDOR
    props.last_modified_by = VENDOR
    props.created = props.modified = datetime(2025, 1, 1)
    props.revision = 1
    doc.add_heading(row["title"], level=0)
    for heading, paragraphs, bullets in _sections(draft):
        doc.add_heading(heading, level=1)
        for p in paragraphs:
            doc.add_paragraph(p)
        for b in bullets:
            doc.add_paragraph(b, style="List Bullet")
    if row["type"] == "proposal_template":
        table = doc.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ("#", "Item", "Price, EUR"), strict=True):
            cell.text = text
        for i, item in enumerate(row["products"], start=1):
            cells = table.add_row().cells
            cells[0].text, cells[1].text, cells[2].text = str(i), PRODUCTS[item]["name"], "[...]"
    raw = io.BytesIO()
    doc.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def _pdf(draft: _Draft) -> bytes:
    """A text PDF (TrueType-embedded DejaVu Sans, so Cyrillic extracts back with pypdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    row = draft.row
    lines: list[tuple[str, float, bool]] = []  # (text, font size, bold)
    for part in textwrap.wrap(row["title"], 70):
        lines.append((part, 14, True))
    lines.append(("", 10, False))
    for heading, paragraphs, bullets in _sections(draft):
        lines.append((heading, 12, True))
        for p in paragraphs:
            lines += [(w, 10, False) for w in textwrap.wrap(p, 92)]
            lines.append(("", 6, False))
        for b in bullets:
            wrapped = textwrap.wrap(b, 88)
            lines += [(("• " if j == 0 else "  ") + w, 10, False) for j, w in enumerate(wrapped)]
        if bullets:
            lines.append(("", 6, False))
    out = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}):
        meta = {
            "Title": row["title"],
            "Author": VENDOR,
            "Subject": row["type"],
            "CreationDate": None,
            "Creator": "demo.content",
        }
        with PdfPages(out, metadata=meta) as pdf:
            page_lines: list[tuple[str, float, bool]] = []
            used = 0.0
            pages = []
            for line in lines:
                height = line[1] * 1.45 / 72 / 11.69
                if used + height > 0.86 and page_lines:
                    pages.append(page_lines)
                    page_lines, used = [], 0.0
                page_lines.append(line)
                used += height
            pages.append(page_lines)
            for page in pages:
                fig = plt.figure(figsize=(8.27, 11.69))
                y = 0.94
                for text, size, bold in page:
                    if text:
                        fig.text(
                            0.08, y, text, fontsize=size, fontweight="bold" if bold else "normal"
                        )
                    y -= size * 1.45 / 72 / 11.69
                pdf.savefig(fig)
                plt.close(fig)
    return out.getvalue()


def _pick_documents(drafts: list[_Draft]) -> list[tuple[str, _Draft]]:
    """One published asset per entry of the document plan, first match by type and language."""
    used: set[str] = set()
    chosen = []
    for fmt, atype, lang in _DOCUMENT_PLAN:
        for d in drafts:
            r = d.row
            if (
                r["asset_id"] not in used
                and r["type"] == atype
                and r["language"] == lang
                and r["status"] == "published"
                and r["expires_at"] is None
            ):
                used.add(r["asset_id"])
                chosen.append((fmt, d))
                break
        else:
            raise RuntimeError(f"no published {lang} {atype} for a {fmt} document; change the seed")
    return chosen


def _plan_documents(drafts: list[_Draft]) -> list[tuple[str, _Draft, str]]:
    """(format, draft, file name) of each planned document; sets each chosen row's
    `document` (a path relative to the catalog folder, as ingestion resolves it)."""
    plan = []
    for fmt, draft in _pick_documents(drafts):
        row = draft.row
        stem = f"{row['asset_id']}-{row['type'].replace('_', '-')}-{row['language']}"
        name = f"{stem}.{fmt.split('.')[0]}"
        row["document"] = f"documents/{name}"
        plan.append((fmt, draft, name))
    return plan


def _write_documents(plan: list[tuple[str, _Draft, str]], documents_dir: Path) -> list[Path]:
    """Write the planned documents and their sidecars; return the files written."""
    import yaml

    written: list[Path] = []
    for fmt, draft, name in plan:
        row = draft.row
        path = documents_dir / name
        stem = name.rsplit(".", 1)[0]
        side: Path | None = None
        if fmt == "md":
            path.write_text(_markdown(draft), encoding="utf-8")
        elif fmt.startswith("txt"):
            path.write_text(_plain_text(draft), encoding="utf-8")
            side = documents_dir / f"{stem}.meta.{fmt.split('.')[1]}"
        elif fmt == "html":
            path.write_text(_html(draft), encoding="utf-8")
        else:
            path.write_bytes(_docx(draft) if fmt == "docx" else _pdf(draft))
            side = documents_dir / f"{stem}.meta.json"
        if side is not None:
            if side.suffix == ".json":
                text = json.dumps(_metadata(row), ensure_ascii=False, indent=2) + "\n"
            else:
                text = yaml.safe_dump(_metadata(row), allow_unicode=True, sort_keys=False)
            side.write_text(text, encoding="utf-8")
            written.append(side)
        written.append(path)
    return written


def _demo_drafts(n_assets: int, seed: int) -> tuple[list[_Draft], dict[str, Any]]:
    drafts = _draft_assets(n_assets - 1, seed=seed)
    return drafts, faq_asset(f"A{n_assets:04d}")


def render_tables(
    *, n_assets: int = DEMO_ASSETS, n_partners: int = DEMO_PARTNERS, seed: int = DEMO_SEED
) -> dict[str, str]:
    """The text of assets.jsonl and partners.csv exactly as `write_demo` writes them (the
    documents are planned, so each row's `document` is set, but no file is written)."""
    drafts, faq_row = _demo_drafts(n_assets, seed)
    _plan_documents(drafts)
    rows = [d.row for d in drafts] + [faq_row]
    assets = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    partners = build_partners(n_partners, seed=seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = list(partners[0])
    writer.writerow(columns)
    for p in partners:
        writer.writerow([";".join(p[c]) if isinstance(p[c], list) else p[c] for c in columns])
    return {"assets.jsonl": assets, "partners.csv": out.getvalue()}


def write_demo(
    out_dir: Path = DEMO_DIR,
    *,
    n_assets: int = DEMO_ASSETS,
    n_partners: int = DEMO_PARTNERS,
    seed: int = DEMO_SEED,
    faq_source: Path | None = None,
) -> dict[str, Any]:
    """(Re)write assets.jsonl, partners.csv and documents/ under `out_dir`.

    The FAQ is copied byte for byte from `faq_source` (default: the copy already in
    documents/). Other files in `out_dir` (e.g. playbook.yaml) are left alone;
    documents/ is replaced whole. Returns counts for a report.
    """
    docs_dir = out_dir / "documents"
    candidates = [faq_source] if faq_source else [docs_dir / FAQ_FILE]
    faq_path = next((p for p in candidates if p is not None and p.is_file()), None)
    if faq_path is None:
        raise FileNotFoundError(f"{FAQ_FILE} not found in {[str(c) for c in candidates]}")
    faq_bytes = faq_path.read_bytes()

    drafts, faq_row = _demo_drafts(n_assets, seed)
    plan = _plan_documents(drafts)
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    docs_dir.mkdir(parents=True)
    files = _write_documents(plan, docs_dir)
    (docs_dir / FAQ_FILE).write_bytes(faq_bytes)
    faq_meta = docs_dir / FAQ_FILE.replace(".txt", ".meta.json")
    faq_meta.write_text(
        json.dumps(_metadata(faq_row), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    files += [docs_dir / FAQ_FILE, faq_meta]
    tables = render_tables(n_assets=n_assets, n_partners=n_partners, seed=seed)
    for name, text in tables.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="")
    return {
        "assets": n_assets,
        "partners": n_partners,
        "documents": len(plan) + 1,
        "files": len(files),
    }


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m demo.content [--out DIR] [--faq PATH]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--faq", type=Path, default=None, help="source of the Ukrainian FAQ")
    args = parser.parse_args(argv)
    counts = write_demo(args.out, faq_source=args.faq)
    print(", ".join(f"{k}: {v}" for k, v in counts.items()), f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
