package server

import (
	"sort"
	"strconv"
	"strings"
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
		"soonBadge":             "Soon",
		"soon":                  "Coming soon: the scenario catalog.",
		"footer":                "Keiko is open source. It runs on your laptop, no internet needed.",
		"terminal.title":        "Terminal",
		"terminal.connecting":   "connecting…",
		"terminal.connected":    "connected",
		"terminal.reconnecting": "reconnecting…",
		"terminal.exited":       "shell exited",
		"terminal.readonly":     "watching (read-only)",
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
		"soonBadge":             "近日",
		"soon":                  "近日公開：シナリオカタログ",
		"footer":                "Keiko はオープンソースです。ノート PC 上で動き、インターネット接続は不要です。",
		"terminal.title":        "ターミナル",
		"terminal.connecting":   "接続中…",
		"terminal.connected":    "接続済み",
		"terminal.reconnecting": "再接続中…",
		"terminal.exited":       "シェルが終了しました",
		"terminal.readonly":     "閲覧のみ",
	},
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
