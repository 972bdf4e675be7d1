package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSS samples the resident memory of processes from /proc/<pid>/status:
// the largest VmRSS seen and the kernel's own high-water mark VmHWM.
type RSS struct {
	pids []int
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	maxRSS  map[int]int64 // KiB
	lastHWM map[int]int64 // KiB
}

// SampleRSS starts sampling pids every interval until Stop.
func SampleRSS(pids []int, interval time.Duration) *RSS {
	r := &RSS{pids: pids, stop: make(chan struct{}), done: make(chan struct{}), maxRSS: map[int]int64{}, lastHWM: map[int]int64{}}
	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			r.sample()
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *RSS) sample() {
	for _, pid := range r.pids {
		rss, hwm, err := readStatus(pid)
		if err != nil {
			continue // the process is gone (killed on purpose in fault runs)
		}
		r.mu.Lock()
		r.maxRSS[pid] = max(r.maxRSS[pid], rss)
		r.lastHWM[pid] = max(r.lastHWM[pid], hwm)
		r.mu.Unlock()
	}
}

// Stop ends the sampling.
func (r *RSS) Stop() {
	close(r.stop)
	<-r.done
}

// Current is a short text of the latest peak figures, for progress lines.
func (r *RSS) Current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, pid := range r.pids {
		parts = append(parts, fmt.Sprintf("rss[%d]=%.0fMB", pid, float64(r.maxRSS[pid])/1024))
	}
	return strings.Join(parts, " ")
}

// Report is one line per process: peak VmHWM and the largest sampled VmRSS.
func (r *RSS) Report() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, pid := range r.pids {
		fmt.Fprintf(&b, "gateway pid %d: peak RSS (VmHWM) %.1f MB, largest sampled VmRSS %.1f MB\n",
			pid, float64(r.lastHWM[pid])/1024, float64(r.maxRSS[pid])/1024)
	}
	return b.String()
}

func readStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm, sc.Err()
}
