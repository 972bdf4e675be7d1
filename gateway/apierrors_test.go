package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The Bearer scheme is case-insensitive; the token is not.
func TestBearerSchemeAnyCase(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, header := range []string{"Bearer " + anaToken, "bearer " + anaToken, "BEARER " + anaToken, "  Bearer " + anaToken + "  "} {
		if status := h.rawAPI(http.MethodGet, "/api/v1/queue", header, ""); status != http.StatusOK {
			t.Errorf("Authorization %q = %d, want 200", header, status)
		}
	}
	for _, header := range []string{"Bearer " + strings.ToUpper(anaToken), "Basic " + anaToken, "Bearer", anaToken, "Bearer: " + anaToken} {
		if status := h.rawAPI(http.MethodGet, "/api/v1/queue", header, ""); status != http.StatusUnauthorized {
			t.Errorf("Authorization %q = %d, want 401", header, status)
		}
	}
}

// rawAPI calls the API with an Authorization header and a raw body as
// given, through the OpenAPI-checked client; it returns the status.
func (h *harness) rawAPI(method, path, authorization, body string) int {
	h.t.Helper()
	status, _ := h.rawAPIBody(method, path, authorization, body)
	return status
}

func (h *harness) rawAPIBody(method, path, authorization, body string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.apiClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

// Claiming on a channel the agent does not serve says so.
func TestClaimOnAnotherChannel(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, ch := range []string{"nowhere", "fb-page"} {
		status, raw := h.api(http.MethodPost, "/api/v1/queue/claim?channel="+ch, brunoTok, nil)
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(raw, &e)
		if status != http.StatusForbidden || e.Error.Code != "forbidden" || !strings.Contains(e.Error.Message, `channel "`+ch+`" is not one of the agent's channels`) {
			t.Errorf("claim on %s = %d %s, want 403 naming the channel", ch, status, raw)
		}
	}
}

// A body of the wrong shape gets a 400 naming the field and the JSON it
// wants, in the client's terms, never Go's.
func TestBadBodiesNamePlainly(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	join(t, h, ana, "wamid.BB1", insideHours)
	h.apiJSON(http.MethodPost, "/api/v1/queue/claim", anaToken, nil, http.StatusOK, nil)
	msgs := "/api/v1/conversations/" + ana.conv() + "/messages"
	notes := "/api/v1/conversations/" + ana.conv() + "/notes"
	for _, tc := range []struct{ path, body, want string }{
		{msgs, `{"text": 5}`, "text must be a string, not a number"},
		{msgs, `{"attachment": {"type": "image", "url": ["https://x"]}}`, "attachment.url must be a string, not an array"},
		{msgs, `{"attachment": "https://x"}`, "attachment must be an object, not a string"},
		{msgs, `["hello"]`, "body must be an object, not an array"},
		{msgs, `{"text": "hi"`, "body is not complete JSON"},
		{msgs, `{text: "hi"}`, "body is not JSON (error at byte 2)"},
		{msgs, ``, "body is empty"},
		{notes, `{"text": true}`, "text must be a string, not true or false"},
		{"/api/v1/agents/me/presence", `{"status": {"online": true}}`, "status must be a string, not an object"},
	} {
		method := http.MethodPost
		if strings.HasSuffix(tc.path, "/presence") {
			method = http.MethodPut
		}
		status, raw := h.rawAPIBody(method, tc.path, "Bearer "+anaToken, tc.body)
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal([]byte(raw), &e)
		if status != http.StatusBadRequest || e.Error.Code != "bad_request" || !strings.HasPrefix(e.Error.Message, tc.want+"; want {") {
			t.Errorf("%s %s = %d %s, want 400 %q", tc.path, tc.body, status, raw, tc.want)
		}
		for _, goName := range []string{"Go ", "struct", "messageBody", "textBody", "queue.Presence", "json:"} {
			if strings.Contains(e.Error.Message, goName) {
				t.Errorf("%s %s: message %q names Go's %q", tc.path, tc.body, e.Error.Message, goName)
			}
		}
	}
}

// Erasing on a channel that is not configured and holds nothing is 404,
// not a successful erasure of nothing.
func TestEraseUnknownChannel(t *testing.T) {
	o := newOpsHarness(t, "", nil, nil)
	o.wantError(http.MethodDelete, "/api/v1/admin/contacts/wa-mian/5511900000001", adminToken, nil, http.StatusNotFound, "not_found")
	// A configured channel with nothing stored for the user is a 200 with
	// zero counts: the erasure is done.
	var res struct{ Erased map[string]int }
	o.apiJSON(http.MethodDelete, "/api/v1/admin/contacts/wa-main/5511900000001", adminToken, nil, http.StatusOK, &res)
	if res.Erased["keys"] != 0 || res.Erased["entries"] != 0 {
		t.Errorf("erasure of nothing = %+v, want zero counts", res)
	}
}
