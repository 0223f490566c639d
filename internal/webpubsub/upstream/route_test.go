package upstream

import "testing"

func TestURLTemplate(t *testing.T) {
	tests := []struct {
		name, template, hub, event, want string
	}{
		{"path", "http://app/api/{hub}/{event}", "Chat", "message", "http://app/api/Chat/message"},
		{"any letter case", "http://app/{HUB}/{Event}/{eVeNt}", "h", "e", "http://app/h/e/e"},
		{"no placeholders", "http://app/handler", "h", "e", "http://app/handler"},
		{"query", "http://app/h?hub={hub}&event={event}", "h", "a&b=c", "http://app/h?hub=h&event=a%26b%3Dc"},
		{"names are escaped", "http://app/{hub}/{event}", "a`b,c[d]", "x y/z+é", "http://app/a%60b%2Cc%5Bd%5D/x%20y%2Fz%2B%C3%A9"},
		{"unreserved characters stay", "http://app/{event}", "h", "a-b.c_d~e", "http://app/a-b.c_d~e"},
		{"other braces stay", "http://app/{x}/{hub/{event}}", "h", "e", "http://app/{x}/{hub/e}"},
		{"unterminated", "http://app/{even", "h", "e", "http://app/{even"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newRoute(tt.hub, Handler{URLTemplate: tt.template}).url(tt.event); got != tt.want {
				t.Errorf("url = %s, want %s", got, tt.want)
			}
		})
	}
}
