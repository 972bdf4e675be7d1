package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestPeopleProblems(t *testing.T) {
	_, err := Load("testdata/people.yaml", env(nil))
	want := []string{
		"testdata/people.yaml:3: sessions.ttl: 1m is below the minimum of 5m",
		`testdata/people.yaml:8: agents[0].role: "boss" is not agent or supervisor`,
		"testdata/people.yaml:9: agents[0].password_hash: not a bcrypt hash: make one with `gateway passwd`",
	}
	lines := problemLines(t, err)
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(err.Error(), "not-a-hash") {
		t.Error("a problem shows the password hash")
	}
}

func TestPeopleDefaults(t *testing.T) {
	cfg, err := Load("testdata/minimal.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sessions.TTL != 12*time.Hour {
		t.Errorf("sessions.ttl = %s, want 12h", cfg.Sessions.TTL)
	}
	data, err := os.ReadFile("testdata/people.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.NewReplacer("ttl: 1m", "ttl: 1h", "    role: boss\n", "", "    password_hash: not-a-hash\n", "").Replace(string(data))
	cfg, err = Parse("people.yaml", []byte(fixed), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agents[0].Role != RoleAgent || cfg.Agents[1].Role != RoleSupervisor {
		t.Errorf("roles = %q, %q; want agent (the default), supervisor", cfg.Agents[0].Role, cfg.Agents[1].Role)
	}
}

// TestExamplePasswordsArePublished: the example's development password
// hashes are refused with a real Redis even when every token is set.
func TestExamplePasswordsArePublished(t *testing.T) {
	environment := productionEnv()
	delete(environment, "AGENT_ANA_PASSWORD_HASH")
	_, err := Load("example.yaml", env(environment))
	lines := problemLines(t, err)
	if len(lines) != 1 || !strings.Contains(lines[0], ": agents[0].password_hash: "+publishedProblem+" (set ${AGENT_ANA_PASSWORD_HASH})") {
		t.Errorf("problems = %q, want the published agents[0].password_hash", lines)
	}
}

// TestDevelopmentSignIns: the example's published hashes are those of the
// passwords the start log prints, and only with the embedded Redis.
func TestDevelopmentSignIns(t *testing.T) {
	cfg, err := Load("example.yaml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.DevelopmentSignIns()
	if len(got) != 2 || got[0].Agent != "ana" || got[1].Agent != "bruno" {
		t.Fatalf("development sign-ins %+v, want ana and bruno", got)
	}
	for _, s := range got {
		a, _ := cfg.Agent(s.Agent)
		if err := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash.Reveal()), []byte(s.Password)); err != nil {
			t.Errorf("%s's printed password does not match the example's hash: %v", s.Agent, err)
		}
	}

	hash, err := bcrypt.GenerateFromPassword([]byte("a password of her own"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = Load("example.yaml", env(map[string]string{"AGENT_ANA_PASSWORD_HASH": string(hash)}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.DevelopmentSignIns(); len(got) != 1 || got[0].Agent != "bruno" {
		t.Errorf("with ana's own password: %+v, want bruno's only", got)
	}
	cfg.Redis.URL = "redis://127.0.0.1:6379/0"
	if got := cfg.DevelopmentSignIns(); got != nil {
		t.Errorf("with a real Redis: %+v, want none", got)
	}
}
