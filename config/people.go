package config

import (
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Agents as people: roles, and passwords for the console's sign-in.

// Role is what an agent may do.
type Role string

// Roles.
const (
	// RoleAgent works the conversations of its channels (the default).
	RoleAgent Role = "agent"
	// RoleSupervisor also assigns, transfers, releases and closes any
	// conversation of its channels.
	RoleSupervisor Role = "supervisor"
)

// Sessions configures the console's sign-in sessions.
type Sessions struct {
	// TTL is how long a session lasts without use; each use extends it
	// (a sliding expiry). Default 12h; 5m to 30 days.
	TTL time.Duration `yaml:"ttl"`
}

const defaultSessionTTL = 12 * time.Hour

var sessionTTLBounds = bounds[time.Duration]{min: 5 * time.Minute, max: 30 * day}

// applyPeopleDefaults fills in roles and the session lifetime.
func (c *Config) applyPeopleDefaults() {
	orDefault(&c.Sessions.TTL, defaultSessionTTL)
	for i := range c.Agents {
		orDefault(&c.Agents[i].Role, RoleAgent)
	}
}

// people checks roles, password hashes and the session lifetime.
func (v *validator) people(c *Config) {
	within(v, "sessions.ttl", c.Sessions.TTL, sessionTTLBounds)
	for i, a := range c.Agents {
		path := fmt.Sprintf("agents[%d]", i)
		if a.Role != RoleAgent && a.Role != RoleSupervisor {
			v.report(path+".role", "%q is not agent or supervisor", a.Role)
		}
		if a.PasswordHash == "" {
			continue
		}
		if _, err := bcrypt.Cost([]byte(a.PasswordHash.Reveal())); err != nil {
			v.report(path+".password_hash", "not a bcrypt hash: make one with `gateway passwd`")
		}
	}
}
