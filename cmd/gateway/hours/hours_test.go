package hours

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"switchboard/config"
)

var updateHours = flag.Bool("update-hours", false, "rewrite cmd/gateway/hours/testdata/hours*.golden")

// TestPrintHours checks the week table against a golden file: overnight
// ranges (Friday's into Saturday, Saturday's across the DST change), a
// holiday, a special date, the end of summer time, a local zone a day
// ahead, and a channel without hours.
func TestPrint(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "hours.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	madrid, _ := time.LoadLocation("Europe/Madrid")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name string
		opts Options
	}{
		{"hours_dst_week", Options{
			Week:  time.Date(2026, 10, 22, 0, 0, 0, 0, time.UTC),
			Now:   time.Date(2026, 10, 23, 21, 30, 0, 0, madrid),
			Local: tokyo,
		}},
		// Week defaults to the week of Now; a local zone equal to the
		// channel's is not repeated; Now is inside an overnight range.
		{"hours_default_week", Options{
			Channel: "fb-madrid",
			Now:     time.Date(2026, 10, 24, 1, 15, 0, 0, madrid),
			Local:   madrid,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := Print(&out, cfg, tt.opts); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *updateHours {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("PrintHours output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrintHoursUnknownChannel(t *testing.T) {
	cfg, err := config.Load(filepath.Join("testdata", "hours.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = Print(&bytes.Buffer{}, cfg, Options{Channel: "nope", Now: time.Unix(0, 0), Local: time.UTC})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Print(unknown channel) error = %v, want one naming the channel", err)
	}
}

func TestHoursFormatWait(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3*time.Hour + 10*time.Minute:    "3h10m",
		time.Hour:                       "1h",
		35 * time.Hour:                  "1d11h",
		45*time.Minute + 20*time.Second: "45m",
		20 * time.Second:                "under a minute",
		48*time.Hour + 5*time.Minute:    "2d5m",
	} {
		if got := formatWait(d); got != want {
			t.Errorf("formatWait(%v) = %q, want %q", d, got, want)
		}
	}
}
