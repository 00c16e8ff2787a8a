package daemon

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Listening returns those of ports on which some socket listens (TCP, IPv4
// or IPv6, any address), read from /proc/net/tcp and /proc/net/tcp6.
func Listening(ports []int) ([]int, error) {
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	found := map[int]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if p, ok := listenPort(sc.Text()); ok && want[p] {
				found[p] = true
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	var out []int
	for _, p := range ports {
		if found[p] {
			out = append(out, p)
			delete(found, p)
		}
	}
	return out, nil
}

// listenPort parses one /proc/net/tcp line, "sl local_address rem_address
// st ...", and returns the local port of a socket in state LISTEN (0A).
func listenPort(line string) (int, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || f[3] != "0A" {
		return 0, false
	}
	i := strings.LastIndexByte(f[1], ':')
	if i < 0 {
		return 0, false
	}
	p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
	return int(p), err == nil
}
