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
	},
}

// requestLang is the language a request asks for; see pickLang.
func requestLang(c *gin.Context) string {
	return pickLang(c.Query("lang"), c.GetHeader("Accept-Language"))
}

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
