"""A column's language from its text: script statistics, lingua votes, simplified vs traditional, key columns."""

from __future__ import annotations

import hanzidentifier
import pytest

from translation_pipeline.localization.read.content import (
    ContentDecision,
    clean_cell,
    identify_column,
    looks_like_keys,
    script_profile,
)

EN_UI = [
    "Start Game", "Continue", "Settings", "Quit to Desktop", "Are you sure you want to quit?", "OK", "Cancel",
    "HP", "Lv.", "Your inventory is full.", "Not enough gold.", "Press any key to continue", "Loading...",
    "Game saved.", "Do you want to overwrite this save file?", "Music Volume", "Sound Effects", "Language",
    "Back", "Equip", "Sell all junk items", "Daily rewards reset in {0} hours.",
    "You received <color=#ffcc00>{item}</color>!", "Quest completed!", "New skill unlocked",
    "Connection lost. Reconnecting...", "Invite friends", "Claim reward", "The shop is closed for maintenance.",
    "Select a character",
]  # fmt: skip

EN_DIALOGUE = [
    "I've been waiting for you, traveler. The road north is no longer safe.",
    "Bring me three wolf pelts and I'll make it worth your while.",
    "They took my daughter to the old mine. Please, you have to help me!",
    "Hmm... you don't look like much of a fighter.",
    "The king's guards won't let anyone through the gate after dark.",
    "Thank you, {0}. I won't forget this.",
    "Stay close. Something is moving in the shadows.",
    "If you find the captain's journal, bring it straight to me.",
    "We should rest here for the night and leave at dawn.",
    "Do you really think we can win this war?",
    "That sword belonged to my father.",
    "Where were you when the dragon attacked the village?",
]

DE = [
    "Spiel starten", "Fortsetzen", "Einstellungen", "Zurück zum Desktop", "Möchtest du das Spiel wirklich beenden?",
    "OK", "Abbrechen", "Dein Inventar ist voll.", "Nicht genug Gold.", "Drücke eine beliebige Taste",
    "Wird geladen...", "Spiel gespeichert.", "Möchtest du diesen Spielstand überschreiben?", "Musiklautstärke",
    "Soundeffekte", "Sprache", "Zurück", "Ausrüsten", "Allen Plunder verkaufen",
    "Tägliche Belohnungen werden in {0} Stunden zurückgesetzt.", "Du hast <color=#ffcc00>{item}</color> erhalten!",
    "Quest abgeschlossen!", "Neue Fähigkeit freigeschaltet", "Verbindung verloren. Neuer Versuch...",
    "Freunde einladen", "Belohnung abholen", "Der Laden ist wegen Wartungsarbeiten geschlossen.",
    "Wähle einen Charakter", "Ich habe auf dich gewartet, Reisender.", "Die Straße nach Norden ist nicht mehr sicher.",
]  # fmt: skip

FR = [
    "Nouvelle partie", "Continuer", "Paramètres", "Quitter vers le bureau", "Voulez-vous vraiment quitter ?", "OK",
    "Annuler", "Votre inventaire est plein.", "Pas assez d'or.", "Appuyez sur une touche pour continuer",
    "Chargement...", "Partie sauvegardée.", "Voulez-vous écraser cette sauvegarde ?", "Volume de la musique",
    "Effets sonores", "Langue", "Retour", "Équiper", "Vendre tous les objets inutiles",
    "Les récompenses quotidiennes seront réinitialisées dans {0} heures.",
    "Vous avez reçu <color=#ffcc00>{item}</color> !",
    "Quête terminée !", "Nouvelle compétence débloquée", "Connexion perdue. Reconnexion en cours...",
    "Inviter des amis", "Récupérer la récompense", "La boutique est fermée pour maintenance.",
    "Choisissez un personnage", "Je t'attendais, voyageur.", "La route du nord n'est plus sûre.",
]  # fmt: skip

ES = [
    "Nueva partida", "Continuar", "Ajustes", "Salir al escritorio", "¿Seguro que quieres salir?", "Aceptar",
    "Cancelar", "Tu inventario está lleno.", "No tienes suficiente oro.", "Pulsa cualquier tecla para continuar",
    "Cargando...", "Partida guardada.", "¿Quieres sobrescribir esta partida?", "Volumen de la música",
    "Efectos de sonido", "Idioma", "Volver", "Equipar", "Vender todos los objetos basura",
    "Las recompensas diarias se reinician en {0} horas.", "¡Has recibido <color=#ffcc00>{item}</color>!",
    "¡Misión completada!", "Nueva habilidad desbloqueada", "Conexión perdida. Reconectando...",
    "Invitar a amigos", "Reclamar recompensa", "La tienda está cerrada por mantenimiento.", "Elige un personaje",
    "Te estaba esperando, viajero.", "El camino hacia el norte ya no es seguro.",
]  # fmt: skip

PT = [
    "Novo jogo", "Continuar", "Configurações", "Sair para a área de trabalho", "Tem certeza de que deseja sair?",
    "OK", "Cancelar", "Seu inventário está cheio.", "Ouro insuficiente.", "Pressione qualquer tecla para continuar",
    "Carregando...", "Jogo salvo.", "Deseja substituir este arquivo salvo?", "Volume da música",
    "Efeitos sonoros", "Idioma", "Voltar", "Equipar", "Vender todos os itens inúteis",
    "As recompensas diárias serão reiniciadas em {0} horas.", "Você recebeu <color=#ffcc00>{item}</color>!",
    "Missão concluída!", "Nova habilidade desbloqueada", "Conexão perdida. Reconectando...",
    "Convidar amigos", "Resgatar recompensa", "A loja está fechada para manutenção.", "Escolha um personagem",
    "Eu estava esperando por você, viajante.", "A estrada para o norte não é mais segura.",
]  # fmt: skip

RO = [
    "Joc nou", "Continuă", "Setări", "Ieșire pe desktop", "Sigur vrei să ieși din joc?", "OK", "Anulează",
    "Inventarul tău este plin.", "Nu ai destul aur.", "Apasă orice tastă pentru a continua", "Se încarcă...",
    "Joc salvat.", "Vrei să suprascrii această salvare?", "Volumul muzicii", "Efecte sonore", "Limbă", "Înapoi",
    "Echipează", "Vinde toate obiectele inutile", "Recompensele zilnice se resetează în {0} ore.",
    "Ai primit <color=#ffcc00>{item}</color>!", "Misiune încheiată!", "Abilitate nouă deblocată",
    "Conexiunea s-a pierdut. Se reconectează...", "Invită prieteni", "Revendică recompensa",
    "Magazinul este închis pentru mentenanță.", "Alege un personaj", "Te așteptam, călătorule.",
    "Drumul spre nord nu mai este sigur.",
]  # fmt: skip

ID = [
    "Permainan baru", "Lanjutkan", "Pengaturan", "Keluar ke desktop", "Apakah kamu yakin ingin keluar?", "OK",
    "Batal", "Inventaris kamu penuh.", "Emas tidak cukup.", "Tekan tombol apa saja untuk melanjutkan", "Memuat...",
    "Permainan disimpan.", "Apakah kamu ingin menimpa data simpanan ini?", "Volume musik", "Efek suara", "Bahasa",
    "Kembali", "Pasang", "Jual semua barang tidak berguna", "Hadiah harian akan diatur ulang dalam {0} jam.",
    "Kamu menerima <color=#ffcc00>{item}</color>!", "Misi selesai!", "Keterampilan baru terbuka",
    "Koneksi terputus. Menghubungkan kembali...", "Undang teman", "Ambil hadiah",
    "Toko sedang tutup untuk pemeliharaan.", "Pilih karakter", "Aku sudah menunggumu, pengembara.",
    "Jalan ke utara sudah tidak aman lagi.",
]  # fmt: skip

RU = [
    "Новая игра", "Продолжить", "Настройки", "Выйти на рабочий стол", "Вы действительно хотите выйти?", "ОК",
    "Отмена", "Ваш инвентарь заполнен.", "Недостаточно золота.", "Нажмите любую клавишу", "Загрузка...",
    "Игра сохранена.", "Перезаписать это сохранение?", "Громкость музыки", "Звуковые эффекты", "Язык", "Назад",
    "Экипировать", "Продать весь хлам", "Ежедневные награды обновятся через {0} ч.",
    "Вы получили <color=#ffcc00>{item}</color>!", "Задание выполнено!", "Открыт новый навык",
    "Соединение потеряно. Переподключение...", "Пригласить друзей", "Забрать награду",
    "Магазин закрыт на техническое обслуживание.", "Выберите персонажа", "Я ждал тебя, путник.",
    "Дорога на север больше не безопасна.",
]  # fmt: skip

JA = [
    "ゲームを始める", "つづける", "設定", "デスクトップに戻る", "本当にゲームを終了しますか？", "OK", "キャンセル",
    "インベントリがいっぱいです。", "ゴールドが足りません。", "いずれかのキーを押してください", "ロード中...",
    "セーブしました。", "このセーブデータを上書きしますか？", "BGM音量", "効果音", "言語", "戻る", "装備する",
    "不要なアイテムをすべて売る", "デイリー報酬は{0}時間後にリセットされます。",
    "<color=#ffcc00>{item}</color>を手に入れた！", "クエスト完了！", "新しいスキルを習得しました",
    "接続が切断されました。再接続中...", "フレンドを招待", "報酬を受け取る", "ショップはメンテナンス中です。",
    "キャラクターを選択", "待っていたぞ、旅の者よ。", "北への道はもう安全ではない。",
]  # fmt: skip

# a Japanese column where a fair share of cells are kanji-only labels (item names, stats, menu words)
JA_WITH_KANJI_ONLY = [
    "攻撃力", "防御力", "装備", "設定", "伝説の剣", "回復薬", "経験値", "素材",
    "ゴールドが足りません。", "このアイテムを売却しますか？", "レベルが上がった！", "スキルを習得しました",
    "装備を変更する", "クエストを受注しますか？", "ボスを倒した！", "宝箱を開けた", "仲間が加わった！",
    "もう一度挑戦する", "ログインボーナスを受け取りました", "ステージクリア！",
]  # fmt: skip

KO = [
    "게임 시작", "계속하기", "설정", "바탕화면으로 나가기", "정말 게임을 종료하시겠습니까?", "확인", "취소",
    "인벤토리가 가득 찼습니다.", "골드가 부족합니다.", "아무 키나 누르세요", "불러오는 중...", "저장되었습니다.",
    "이 저장 파일을 덮어쓰시겠습니까?", "음악 볼륨", "효과음", "언어", "뒤로", "장착", "잡동사니 모두 판매",
    "일일 보상이 {0}시간 후에 초기화됩니다.", "<color=#ffcc00>{item}</color>을(를) 획득했습니다!", "퀘스트 완료!",
    "새로운 스킬 해금", "연결이 끊어졌습니다. 재연결 중...", "친구 초대", "보상 받기", "상점 점검 중입니다.",
    "캐릭터를 선택하세요", "HP", "Lv.",
]  # fmt: skip

ZH_CN = [
    "开始游戏", "继续", "设置", "退出到桌面", "确定要退出游戏吗？", "确定", "取消", "背包已满。", "金币不足。",
    "按任意键继续", "加载中...", "游戏已保存。", "是否覆盖此存档？", "音乐音量", "音效", "语言", "返回", "装备",
    "出售所有杂物", "每日奖励将在{0}小时后重置。", "你获得了<color=#ffcc00>{item}</color>！", "任务完成！",
    "解锁新技能", "连接已断开，正在重新连接……", "邀请好友", "领取奖励", "商店正在维护中。", "选择角色",
    "我一直在等你，旅行者。", "通往北方的道路已经不再安全了。",
]  # fmt: skip

ZH_TW = [
    "開始遊戲", "繼續", "設定", "退出到桌面", "確定要退出遊戲嗎？", "確定", "取消", "背包已滿。", "金幣不足。",
    "按任意鍵繼續", "載入中...", "遊戲已儲存。", "是否覆蓋此存檔？", "音樂音量", "音效", "語言", "返回", "裝備",
    "出售所有雜物", "每日獎勵將在{0}小時後重置。", "你獲得了<color=#ffcc00>{item}</color>！", "任務完成！",
    "解鎖新技能", "連線已中斷，正在重新連線……", "邀請好友", "領取獎勵", "商店正在維護中。", "選擇角色",
    "我一直在等你，旅行者。", "哈利・波特的魔杖",
]  # fmt: skip

TH = [
    "เริ่มเกม", "เล่นต่อ", "การตั้งค่า", "ออกไปที่เดสก์ท็อป", "คุณแน่ใจหรือไม่ว่าต้องการออกจากเกม?", "ตกลง", "ยกเลิก",
    "กระเป๋าเต็มแล้ว", "ทองไม่พอ", "กดปุ่มใดก็ได้เพื่อดำเนินการต่อ", "กำลังโหลด...", "บันทึกเกมแล้ว",
    "ต้องการเขียนทับไฟล์บันทึกนี้หรือไม่?", "ระดับเสียงเพลง", "เอฟเฟกต์เสียง", "ภาษา", "กลับ", "สวมใส่",
    "รางวัลประจำวันจะรีเซ็ตในอีก {0} ชั่วโมง", "คุณได้รับ <color=#ffcc00>{item}</color>!", "ภารกิจสำเร็จ!",
    "ปลดล็อกทักษะใหม่", "HP", "Lv.",
]  # fmt: skip

PLACEHOLDER_HEAVY_EN = [
    "{0} dealt {1} damage to {2}.", "%s has joined the party.", "%1$s gave you %2$d gold.",
    "[b]Warning:[/b] {count} items will be lost.", "<color=#ff0000>{name}</color> was defeated!\\nTry again?",
    "{{player_name}} reached level {level}.", "%d/%d", "{0}", "<b>{title}</b>", "[color=#ffffff]{1}[/color]",
    "Cooldown: {seconds}s", "You need {amount} more {currency} to buy this.", "{name} is now online.",
    "Upgrade {item} to +{level}?\\nThis cannot be undone.", "<sprite=3> x{count}", "%s left the guild.",
    "Your {pet_name} is hungry.", "{0} wants to trade with you.", "Season ends in {days}d {hours}h.",
    "<size=24>Victory!</size>",
]  # fmt: skip

PLACEHOLDER_HEAVY_FR = [
    "{0} a infligé {1} points de dégâts à {2}.", "%s a rejoint le groupe.", "%1$s vous a donné %2$d pièces d'or.",
    "[b]Attention :[/b] {count} objets seront perdus.", "<color=#ff0000>{name}</color> a été vaincu !\\nRéessayer ?",
    "{{player_name}} a atteint le niveau {level}.", "%d/%d", "{0}", "Temps de recharge : {seconds} s",
    "Il vous faut encore {amount} {currency} pour acheter ceci.", "{name} est maintenant en ligne.",
    "Améliorer {item} au niveau +{level} ?\\nCette action est irréversible.", "%s a quitté la guilde.",
    "Votre {pet_name} a faim.", "{0} souhaite échanger avec vous.", "La saison se termine dans {days} j {hours} h.",
    "<size=24>Victoire !</size>",
]  # fmt: skip

NUMBERS_AND_IDS = [
    "80402", "80403", "1001", "3.14", "12.5%", "+10", "-5", "(1/3)", "2024-01-01", "#3", "---", "100", "0",
    "1,000,000", "x2", "v1.2", "", "   ", "...", "★★★",
]  # fmt: skip

KEYS = [
    "ui_start_btn", "80402", "dlg.intro.01", "menuSettingsTitle", "ITEM_SWORD_01", "quest/main/001", "btn-ok",
    "ui_quit_confirm", "dlg.intro.02", "shop.item.price", "80403", "tutorial_step_3", "achievementUnlocked",
    "loading_tip_12", "err.network.timeout", "SKILL_FIREBALL_DESC", "npc_merchant_greeting", "title", "10023",
    "hud.hp.label",
]  # fmt: skip


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        pytest.param(EN_UI, "en", id="en-ui"),
        pytest.param(EN_DIALOGUE, "en", id="en-dialogue"),
        pytest.param(DE, "de", id="de"),
        pytest.param(FR, "fr", id="fr"),
        pytest.param(ES, "es", id="es"),
        pytest.param(PT, "pt", id="pt"),
        pytest.param(RO, "ro", id="ro"),
        pytest.param(ID, "id", id="id"),
        pytest.param(RU, "ru", id="ru"),
        pytest.param(JA, "ja", id="ja"),
        pytest.param(JA_WITH_KANJI_ONLY, "ja", id="ja-kanji-only-cells"),
        pytest.param(KO, "ko", id="ko"),
        pytest.param(ZH_CN, "zh-CN", id="zh-CN"),
        pytest.param(ZH_TW, "zh-TW", id="zh-TW"),
        pytest.param(TH, "th", id="th"),
        pytest.param(PLACEHOLDER_HEAVY_EN, "en", id="placeholders-en"),
        pytest.param(PLACEHOLDER_HEAVY_FR, "fr", id="placeholders-fr"),
    ],
)
def test_a_clear_column_is_decided(texts: list[str], code: str) -> None:
    decision = identify_column(texts)
    assert isinstance(decision, ContentDecision)
    assert decision.language == code, decision.reason
    assert decision.reason.startswith(f"content: {decision.share:.0%} {code} over {decision.cells} cells")
    assert decision.runner_up != code
    assert 0.0 < decision.share <= 1.0


AR = [
    "ابدأ اللعبة", "متابعة", "الإعدادات", "إلغاء", "هل تريد الخروج من اللعبة؟", "تم حفظ اللعبة.", "اختر شخصية",
    "اكتملت المهمة!", "لقد حصلت على {item}!", "لا يوجد ذهب كافٍ.", "اللغة", "رجوع", "دعوة الأصدقاء", "استلام المكافأة",
]  # fmt: skip

EL = ["Νέο παιχνίδι", "Συνέχεια", "Ρυθμίσεις", "Ακύρωση", "Το παιχνίδι αποθηκεύτηκε.", "Επιλέξτε χαρακτήρα", "OK"]


@pytest.mark.parametrize(("texts", "code"), [pytest.param(AR, "ar", id="ar"), pytest.param(EL, "el", id="el")])
def test_other_scripts(texts: list[str], code: str) -> None:
    assert identify_column(texts).language == code


def test_kanji_only_cells_are_japanese_in_a_japanese_column() -> None:
    decision = identify_column(JA_WITH_KANJI_ONLY)
    assert (decision.language, decision.share, decision.runner_up) == ("ja", 1.0, None)
    assert "kanji-only" in decision.reason


def test_simplified_and_traditional_are_told_apart_and_named() -> None:
    assert "simplified" in identify_column(ZH_CN).reason
    assert "traditional" in identify_column(ZH_TW).reason
    # `・` in a traditional name (哈利・波特) is not kana: the column is not Japanese
    assert script_profile(ZH_TW) == {"han": 1.0}


def test_chinese_in_characters_of_both_systems_counts_as_simplified() -> None:
    both_only = ["取消", "返回", "音效", "出售", "商店", "角色", "退出到桌面", "背包"]
    assert hanzidentifier.identify("".join(both_only)) == hanzidentifier.BOTH
    decision = identify_column(both_only)
    assert decision.language == "zh-CN"
    assert "both systems" in decision.reason


def test_a_column_mixing_simplified_and_traditional_is_unclear() -> None:
    decision = identify_column(ZH_CN[:15] + ZH_TW[15:])
    assert decision.language is None
    assert "simplified-only" in decision.reason and "traditional-only" in decision.reason


@pytest.mark.parametrize(
    ("texts", "pair"),
    [
        pytest.param(EN_UI[:15] + FR[15:], {"en", "fr"}, id="en-fr-halves"),
        pytest.param([x for two in zip(EN_DIALOGUE, FR, strict=False) for x in two], {"en", "fr"}, id="en-fr-alt"),
        pytest.param(ES[::2] + PT[1::2], {"es", "pt"}, id="es-pt"),
        pytest.param(EN_UI[:12] + JA[:12], {"en", "ja"}, id="en-ja"),
    ],
)
def test_a_mixed_column_is_not_decided(texts: list[str], pair: set[str]) -> None:
    decision = identify_column(texts)
    assert decision.language is None
    assert decision.reason.startswith("content unclear: ")
    assert {decision.runner_up, decision.reason.split("% ")[1].split(",")[0]} == pair
    assert decision.share < 0.8
    assert all(f" {code}" in decision.reason for code in pair)


def test_numbers_and_ids_are_too_few_text_cells() -> None:
    decision = identify_column(NUMBERS_AND_IDS)
    assert decision == ContentDecision(None, 0.0, 0, None, "content: too few text cells (0)")
    few = identify_column(["Start Game", "Continue", "80402", "OK", "", "12%"])
    assert few.language is None
    assert few.reason == "content: too few text cells (2)"
    assert identify_column([]).reason == "content: too few text cells (0)"


def test_short_generic_strings_do_not_sink_a_clear_column() -> None:
    generic = ["OK", "HP", "MP", "Lv.", "EXP", "ATK", "DEF", "x2", "VIP", "PvP", "Lv. 10", "HP +50", "OK!"]
    for texts, code in ((DE[:12], "de"), (KO[:12], "ko"), (TH[:12], "th"), (ZH_CN[:12], "zh-CN")):
        decision = identify_column(texts + generic)
        assert decision.language == code, decision.reason
        assert decision.cells == identify_column(texts).cells  # the generic strings were not judged at all


def test_spreadsheet_values_are_tolerated() -> None:
    column = [None, 80402, float("nan"), 3.5, *RU, None]
    assert identify_column(column).language == "ru"  # type: ignore[arg-type]


def test_the_sample_is_spread_over_the_whole_column_and_deterministic() -> None:
    column = EN_DIALOGUE * 40 + FR * 16  # 480 English cells on top, 480 French below
    first = identify_column(column, sample=60)
    assert first.language is None  # the head alone would say English
    assert first.cells <= 60
    assert identify_column(column, sample=60) == first
    assert identify_column(EN_DIALOGUE * 40, sample=50).cells == 50
    assert identify_column(["", "  ", *EN_DIALOGUE]).cells == len(EN_DIALOGUE)


def test_placeholders_and_markup_are_stripped() -> None:
    assert clean_cell("<color=#ff0000>{name}</color> was defeated!\\nTry again?") == "was defeated! Try again?"
    assert clean_cell("%1$s gave you %2$d gold.") == "gave you gold."
    assert clean_cell("[b]Warning:[/b] {count} items, {{player_name}}") == "Warning: items,"
    assert clean_cell("[ff0000]Rare[-] item&nbsp;found %PLAYER%") == "Rare item found"
    assert clean_cell("%s has %.2f%% left, 50% off") == "has %% left, 50% off"
    assert clean_cell("{0}") == ""


def test_script_profile() -> None:
    assert script_profile(JA_WITH_KANJI_ONLY) == {"kana": 0.65, "han": 0.35}  # 7 of 20 kanji-only
    profile = script_profile(KO)
    assert list(profile) == ["hangul", "latin"]
    assert profile["hangul"] == pytest.approx(28 / 30)
    assert script_profile(["80402", "Привет", "Hello", "สวัสดี", "{0}"]) == {
        "none": 0.4, "cyrillic": 0.2, "latin": 0.2, "thai": 0.2
    }  # fmt: skip
    assert script_profile([]) == {}


@pytest.mark.parametrize(
    ("texts", "keys"),
    [
        pytest.param(KEYS, True, id="keys"),
        pytest.param([str(80400 + i) for i in range(30)], True, id="numeric-ids"),
        pytest.param(EN_UI, False, id="en-ui"),
        pytest.param(EN_DIALOGUE, False, id="en-dialogue"),
        pytest.param(DE, False, id="de"),
        pytest.param(JA, False, id="ja"),
        pytest.param(ZH_CN, False, id="zh-CN"),
        pytest.param(["Settings", "Continue", "OK", "Back", "Equip", "Language", "Inventory"], False, id="one-word"),
        pytest.param([], False, id="empty"),
    ],
)
def test_looks_like_keys(texts: list[str], keys: bool) -> None:
    assert looks_like_keys(texts) is keys


def test_short_item_names_are_decided_by_runs_of_cells(tmp_path) -> None:
    """Generated item names (`Rare Iron Sword +1`) one by one leave lingua split (61% en, 32% nl); runs of
    ten cells decide. The column of the corpus's 1,440-row table without header."""
    from openpyxl import load_workbook

    from tests.corpus.cases import CASES

    case = next(c for c in CASES if c.name == "headerless_large_generated")
    case.build(tmp_path / case.filename)
    names = [row[2] for row in load_workbook(tmp_path / case.filename).active.iter_rows(values_only=True) if row[2]]
    decision = identify_column(names)
    assert decision.language == "en", decision.reason
    assert "runs of 10 cells (single cells: " in decision.reason


def test_runs_do_not_hide_a_column_that_mixes_two_languages_row_by_row() -> None:
    english = ["Start the game", "Load a saved game", "Open the settings", "Quit to the desktop", "Buy this item"]
    french = ["Commencer la partie", "Charger une partie", "Ouvrir les réglages", "Quitter le jeu", "Acheter l'objet"]
    mixed = [text for pair in zip(english * 8, french * 8, strict=True) for text in pair]
    assert identify_column(mixed).language is None
