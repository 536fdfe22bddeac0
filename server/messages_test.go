package server

import "testing"

func TestPickLang(t *testing.T) {
	tests := []struct {
		query, acceptLanguage string
		want                  string
	}{
		{"", "", "en"},
		{"", "ja", "ja"},
		{"", "ja-JP,ja;q=0.9,en-US;q=0.8", "ja"},
		{"", "en-US,en;q=0.9,ja;q=0.8", "en"},
		{"", "fr-FR,fr;q=0.9", "en"},
		{"", "fr, ja;q=0.5", "ja"},
		{"", "en;q=0.3, ja;q=0.7", "ja"},
		{"", "ja;q=0, en", "en"},
		{"", "ja;q=bogus", "en"},
		{"", "*", "en"},
		{"ja", "en", "ja"},
		{"en", "ja", "en"},
		{"xx", "ja", "ja"},
	}
	for _, tt := range tests {
		t.Run(tt.query+"|"+tt.acceptLanguage, func(t *testing.T) {
			if got := pickLang(tt.query, tt.acceptLanguage); got != tt.want {
				t.Errorf("pickLang(%q, %q) = %q, want %q", tt.query, tt.acceptLanguage, got, tt.want)
			}
		})
	}
}

func TestMessagesHaveSameKeys(t *testing.T) {
	for lang, m := range messages {
		for key := range messages[defaultLang] {
			if m[key] == "" {
				t.Errorf("messages[%q] lacks %q", lang, key)
			}
		}
		if got, want := len(m), len(messages[defaultLang]); got != want {
			t.Errorf("len(messages[%q]) = %d, want %d", lang, got, want)
		}
	}
}
