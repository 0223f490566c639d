package httpapi

import "net/http"

// WebhookClient is the HTTP client for calls to an app's own endpoints (event handlers,
// upstreams): base, or a client whose transport keeps enough idle connections for every event
// of a hub going to the same few hosts (two, the default, would mean a new connection for most
// events under load). It never follows redirects: a webhook answers where it was called, and a
// redirect would carry the signed request elsewhere.
func WebhookClient(base *http.Client) *http.Client {
	var hc http.Client
	if base != nil {
		hc = *base
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.MaxResponseHeaderBytes = 64 << 10
		hc.Transport = t
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}
