package server

import (
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// defaultLang is used when the browser asks for nothing Keiko speaks.
const defaultLang = "en"

// messages holds the page strings by language, then by key. Both languages
// must have the same keys; a test checks it.
var messages = map[string]map[string]string{
	"en": {
		"language":              "Language",
		"meaning":               "Japanese for “practice”",
		"headline":              "Hands-on Kubernetes, right in your browser.",
		"tagline":               "Real clusters, guided steps, instant feedback — practice until it sticks.",
		"status":                "Status",
		"cluster":               "Cluster",
		"ready":                 "ready",
		"starting":              "starting…",
		"kubeconfig":            "Admin kubeconfig",
		"kubeconfigHint":        "Use it from a terminal on this machine:",
		"footer":                "Keiko is open source. It runs on your laptop, no internet needed.",
		"terminal.title":        "Terminal",
		"terminal.connecting":   "connecting…",
		"terminal.connected":    "connected",
		"terminal.reconnecting": "reconnecting…",
		"terminal.exited":       "shell exited",
		"terminal.readonly":     "watching (read-only)",
		"catalog":               "Scenarios",
		"empty":                 "No scenarios are loaded.",
		"steps":                 "steps",
		"minutes":               "min",
		"level.beginner":        "Beginner",
		"level.intermediate":    "Intermediate",
		"level.advanced":        "Advanced",
		"track.basics":          "Kubernetes basics",
		"track.operators":       "Operators",
		"track.fargate":         "AWS Fargate",
		"track.kubeflow-mlops":  "Kubeflow MLOps",
		"track.rancher-cicd":    "Rancher CI/CD",
		"track.knative":         "Knative and Cloud Run",
		"broken":                "Scenarios with errors",
		"brokenHint":            "These did not load. Fix the files named below, or run keiko validate for the full list.",
		"warnings":              "Warnings",
		"introduction":          "Introduction",
		"step":                  "Step",
		"hint":                  "Hint",
		"solution":              "Solution",
		"checks":                "Checked live:",
		"finish":                "Finish",
		"back":                  "All scenarios",
		"settings":              "Settings",
		"workshops":             "Workshops",
		"admin":                 "Admin",
		"joinWorkshop":          "Join a workshop",
		"theme":                 "Switch light and dark theme",
		"signOut":               "Sign out",
		"staffSignIn":           "Instructor sign-in",
		"notFound":              "There is no such page. The catalog lists every scenario.",
		"anonymous":             "Learner",
		"progress":              "Your progress",
		"timeLeft":              "Time left in your lab",
		"extend":                "+ Extend",
		"restart":               "Restart",
		"instructions":          "Instructions",
		"preparing":             "Preparing your lab…",
		"begin":                 "Begin",
		"checkedLive":           "Checked live as you work:",
		"stepDone":              "Done — the cluster shows this step is complete.",
		"check":                 "Check",
		"solve":                 "Solve",
		"skip":                  "Skip",
		"next":                  "Next",
		"finished":              "Well done — scenario complete!",
		"moreScenarios":         "More scenarios",
		"endSession":            "End session and free the lab",
		"terminalTitle":         "Terminal",
		"termWaiting":           "waiting for your lab…",
		"phase.sandbox":         "Creating your own namespace on the cluster",
		"phase.setup":           "Running the scenario's setup",
		"phase.replay":          "Replaying step {n} you had already done",
		"phase.step":            "Setting up step {n}",
		"phase.ready":           "Your lab is ready",
		"startCut":              "The connection closed before your lab was ready. Try again.",
		"tryAgain":              "Try again",
		"expired":               "Your lab has expired or the server restarted. Continue in a new lab: your progress is kept, and the steps you did are replayed.",
		"continue":              "Continue",
		"summary":               "You passed {passed} of {total} steps ({skipped} skipped).",
		"solveConfirm":          "Let Keiko do this step for you? It is recorded as solved with help.",
		"skipConfirm":           "Skip this step without passing its checks? It is recorded as skipped.",
		"restartConfirm":        "Start over in a fresh lab? Your current lab and its progress are discarded.",
		"copied":                "Copied ✓",
		"copy":                  "Copy",
		"run":                   "Run",
		"runTitle":              "Run in the terminal",
		"start":                 "Start",
		"resume":                "Continue",
		"completed":             "Completed",
		"unavailable":           "Not available on this cluster",
		"missingHint":           "This cluster lacks:",
		"preview":               "Preview every page",
		"overview":              "What you will do",
		"joined":                "You are in the workshop",
		"as":                    "as",
	},
	"ja": {
		"language":              "言語",
		"meaning":               "けいこ ― 繰り返し練習すること",
		"headline":              "ブラウザだけで、Kubernetes を手を動かして学ぶ。",
		"tagline":               "本物のクラスター、ガイド付きのステップ、すぐに分かる結果。身につくまで稽古しよう。",
		"status":                "ステータス",
		"cluster":               "クラスター",
		"ready":                 "準備完了",
		"starting":              "起動中…",
		"kubeconfig":            "管理者用 kubeconfig",
		"kubeconfigHint":        "このマシンのターミナルから使えます：",
		"footer":                "Keiko はオープンソースです。ノート PC 上で動き、インターネット接続は不要です。",
		"terminal.title":        "ターミナル",
		"terminal.connecting":   "接続中…",
		"terminal.connected":    "接続済み",
		"terminal.reconnecting": "再接続中…",
		"terminal.exited":       "シェルが終了しました",
		"terminal.readonly":     "閲覧のみ",
		"catalog":               "シナリオ",
		"empty":                 "読み込まれたシナリオはありません。",
		"steps":                 "ステップ",
		"minutes":               "分",
		"level.beginner":        "初級",
		"level.intermediate":    "中級",
		"level.advanced":        "上級",
		"track.basics":          "Kubernetes の基本",
		"track.operators":       "オペレーター",
		"track.fargate":         "AWS Fargate",
		"track.kubeflow-mlops":  "Kubeflow MLOps",
		"track.rancher-cicd":    "Rancher CI/CD",
		"track.knative":         "Knative と Cloud Run",
		"broken":                "エラーのあるシナリオ",
		"brokenHint":            "以下のシナリオは読み込めませんでした。示されたファイルを直すか、keiko validate で一覧を確認してください。",
		"warnings":              "警告",
		"introduction":          "はじめに",
		"step":                  "ステップ",
		"hint":                  "ヒント",
		"solution":              "解答例",
		"checks":                "自動で確認される内容：",
		"finish":                "まとめ",
		"back":                  "シナリオ一覧",
		"settings":              "設定",
		"workshops":             "ワークショップ",
		"admin":                 "管理",
		"joinWorkshop":          "ワークショップに参加",
		"theme":                 "ライト／ダークを切り替え",
		"signOut":               "サインアウト",
		"staffSignIn":           "講師のサインイン",
		"notFound":              "このページはありません。シナリオ一覧からお選びください。",
		"anonymous":             "受講者",
		"progress":              "進み具合",
		"timeLeft":              "ラボの残り時間",
		"extend":                "＋ 延長",
		"restart":               "やり直す",
		"instructions":          "手順",
		"preparing":             "ラボを準備しています…",
		"begin":                 "始める",
		"checkedLive":           "作業に合わせて自動で確認します：",
		"stepDone":              "完了 ― クラスターの状態で確認できました。",
		"check":                 "確認する",
		"solve":                 "解答を実行",
		"skip":                  "スキップ",
		"next":                  "次へ",
		"finished":              "おつかれさまでした。シナリオ完了です！",
		"moreScenarios":         "ほかのシナリオへ",
		"endSession":            "終了してラボを返却",
		"terminalTitle":         "ターミナル",
		"termWaiting":           "ラボの準備を待っています…",
		"phase.sandbox":         "クラスター上にあなた専用の名前空間を作成中",
		"phase.setup":           "シナリオの準備処理を実行中",
		"phase.replay":          "完了済みのステップ {n} を再現中",
		"phase.step":            "ステップ {n} を準備中",
		"phase.ready":           "ラボの準備ができました",
		"startCut":              "ラボの準備が終わる前に接続が切れました。もう一度お試しください。",
		"tryAgain":              "もう一度試す",
		"expired":               "ラボの有効期限が切れたか、サーバーが再起動しました。新しいラボで続けられます。進み具合は保存され、完了したステップは再現されます。",
		"continue":              "続ける",
		"summary":               "{total} ステップ中 {passed} ステップを達成しました（スキップ {skipped}）。",
		"solveConfirm":          "このステップを Keiko に実行させますか？「解答を使用」として記録されます。",
		"skipConfirm":           "確認に合格せずにこのステップをスキップしますか？「スキップ」として記録されます。",
		"restartConfirm":        "新しいラボで最初からやり直しますか？ 今のラボと進み具合は破棄されます。",
		"copied":                "コピーしました ✓",
		"copy":                  "コピー",
		"run":                   "実行",
		"runTitle":              "ターミナルで実行",
		"start":                 "始める",
		"resume":                "続きから",
		"completed":             "完了",
		"unavailable":           "このクラスターでは利用できません",
		"missingHint":           "このクラスターに無いもの：",
		"preview":               "全ページをプレビュー",
		"overview":              "このシナリオで行うこと",
		"joined":                "参加中のワークショップ",
		"as":                    "表示名",
	},
}

// requestLang is the language a request asks for; see pickLang.
func requestLang(c *gin.Context) string {
	q := c.Query("lang")
	if _, ok := messages[q]; !ok {
		q, _ = c.Cookie(langCookie)
	}
	return pickLang(q, c.GetHeader("Accept-Language"))
}

// langCookie keeps the language the learner chose with the switch.
const langCookie = "keiko_lang"

// pickLang chooses the page language: an explicit ?lang= wins (so a
// presenter can switch without touching browser settings), then the
// Accept-Language header by q-value, then English.
func pickLang(query, acceptLanguage string) string {
	if _, ok := messages[query]; ok {
		return query
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		// Match on the primary subtag only: "ja-JP" is Japanese, "en-GB" English.
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > 0 && primary != "" {
			prefs = append(prefs, pref{primary, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	for _, p := range prefs {
		if _, ok := messages[p.lang]; ok {
			return p.lang
		}
	}
	return defaultLang
}
