package config

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// exampleFile is config/example.yaml, which runs as is with development
// secrets: its ${VAR:-default} defaults are public, so they are the one
// list of values a real deployment must not use.
//
//go:embed example.yaml
var exampleFile []byte

// minCredentialLength is the shortest token or secret accepted with a real
// Redis: 16 characters, such as 8 random bytes in hex.
const minCredentialLength = 16

// credential is a token or secret the operator chooses, with its path.
type credential struct {
	path  string
	value Secret
}

// credentials returns the tokens and secrets of c that the operator
// chooses or Meta issues: the admin and agent tokens, the agents' password
// hashes, the channels' app
// secrets, verify and access tokens, the http bot's and the notification
// webhook's signing secrets. An SMTP password and call provider headers
// are set by others and are not listed.
func (c *Config) credentials() []credential {
	list := []credential{{"admin_token", c.AdminToken}}
	for i, a := range c.Agents {
		list = append(list, credential{fmt.Sprintf("agents[%d].token", i), a.Token})
		if a.PasswordHash != "" {
			list = append(list, credential{fmt.Sprintf("agents[%d].password_hash", i), a.PasswordHash})
		}
	}
	if c.Bot.Type == BotHTTP {
		list = append(list, credential{"bot.secret", c.Bot.Secret})
	}
	for i := range c.Channels {
		ch := &c.Channels[i]
		path := fmt.Sprintf("channels[%d]", i)
		list = append(list,
			credential{path + ".app_secret", ch.AppSecret},
			credential{path + ".verify_token", ch.VerifyToken},
			credential{path + ".access_token", ch.AccessToken})
		if ch.Notify != nil && ch.Notify.Webhook != nil {
			list = append(list, credential{path + ".notify.webhook.secret", ch.Notify.Webhook.Secret})
		}
	}
	return list
}

var (
	publishedOnce sync.Once
	published     map[Secret]bool
)

// publishedCredentials returns the credentials example.yaml gives with an
// empty environment.
func publishedCredentials() map[Secret]bool {
	publishedOnce.Do(func() {
		published = make(map[Secret]bool)
		// The example uses the embedded Redis, so parsing it does not come
		// back here. It always parses: a test loads it.
		if cfg, err := Parse("example.yaml", exampleFile, nil); err == nil {
			for _, c := range cfg.credentials() {
				published[c.value] = true
			}
		}
	})
	return published
}

// production checks what a real Redis means a real deployment: no
// credential is a published development value or shorter than 16
// characters. With the embedded Redis (development) both are allowed.
func (v *validator) production(c *Config) {
	for _, cred := range c.credentials() {
		switch {
		case cred.value == "":
			// reported as missing
		case publishedCredentials()[cred.value]:
			v.report(cred.path, "a development value published in config/example.yaml: with a real Redis (redis.url, redis.cluster or redis.sentinel) use a secret of your own%s", v.setBy(cred.path))
		case len(cred.value) < minCredentialLength:
			v.report(cred.path, "shorter than %d characters: with a real Redis (redis.url, redis.cluster or redis.sentinel) use a long random value, such as the output of openssl rand -hex 16%s", minCredentialLength, v.setBy(cred.path))
		}
	}
}

// setBy names the variables a value at path came from, as " (set
// ${VAR})", or returns "".
func (v *validator) setBy(path string) string {
	vars := v.vars[path]
	if len(vars) == 0 {
		return ""
	}
	return " (set ${" + strings.Join(vars, "}, ${") + "})"
}

// examplePasswords are the console passwords behind the password hashes
// config/example.yaml publishes (its comments name them too).
var examplePasswords = map[string]string{
	"ana":   "ana-dev-password",
	"bruno": "bruno-dev-password",
}

// SignIn is an agent id and its console password.
type SignIn struct {
	Agent, Password string
}

// DevelopmentSignIns returns the console sign-ins a newcomer can use: the
// agents whose password hash is the one config/example.yaml publishes for
// them, with its password. Only with the embedded Redis (a real Redis
// refuses published hashes), so the start log can print them.
func (c *Config) DevelopmentSignIns() []SignIn {
	if !c.Redis.Embedded() {
		return nil
	}
	example, err := Parse("example.yaml", exampleFile, nil)
	if err != nil {
		return nil
	}
	var list []SignIn
	for _, a := range c.Agents {
		password, known := examplePasswords[a.ID]
		ex, ok := example.Agent(a.ID)
		if known && ok && a.PasswordHash != "" && a.PasswordHash == ex.PasswordHash {
			list = append(list, SignIn{Agent: a.ID, Password: password})
		}
	}
	return list
}
