package cimd

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want addrClass
	}{
		{"93.184.215.14", classPublic},
		{"8.8.8.8", classPublic},
		{"2606:4700::1111", classPublic},
		{"::ffff:8.8.8.8", classPublic},
		{"64:ff9b::808:808", classPublic},
		{"2002:808:808::1", classPublic},

		{"127.0.0.1", classPrivate},
		{"127.255.255.254", classPrivate},
		{"10.0.0.1", classPrivate},
		{"172.16.0.1", classPrivate},
		{"172.31.255.255", classPrivate},
		{"192.168.1.1", classPrivate},
		{"100.64.0.1", classPrivate},
		{"100.127.255.255", classPrivate},
		{"::1", classPrivate},
		{"fc00::1", classPrivate},
		{"fd00:ec2::254", classPrivate},
		{"::ffff:10.0.0.1", classPrivate},
		{"::ffff:127.0.0.1", classPrivate},
		{"::ffff:0:a00:1", classPrivate}, // IPv4-translated 10.0.0.1
		{"64:ff9b::a00:1", classPrivate}, // NAT64 10.0.0.1
		{"64:ff9b::7f00:1", classPrivate},
		{"2002:a00:1::1", classPrivate}, // 6to4 of 10.0.0.1

		{"0.0.0.0", classReserved},
		{"0.1.2.3", classReserved},
		{"169.254.169.254", classReserved},
		{"::ffff:169.254.169.254", classReserved},
		{"64:ff9b::a9fe:a9fe", classReserved},
		{"2002:a9fe:a9fe::", classReserved},
		{"192.0.0.1", classReserved},
		{"192.0.2.1", classReserved},
		{"192.88.99.1", classReserved},
		{"198.18.0.1", classReserved},
		{"198.19.255.255", classReserved},
		{"198.51.100.1", classReserved},
		{"203.0.113.1", classReserved},
		{"224.0.0.1", classReserved},
		{"239.255.255.250", classReserved},
		{"240.0.0.1", classReserved},
		{"255.255.255.255", classReserved},
		{"::", classReserved},
		{"::a00:1", classReserved}, // IPv4-compatible, deprecated
		{"::127.0.0.1", classReserved},
		{"100::1", classReserved},
		{"fe80::1", classReserved},
		{"febf::1", classReserved},
		{"fec0::1", classReserved},
		{"ff02::1", classReserved},
		{"2001:db8::1", classReserved},
		{"2001::1", classReserved}, // Teredo
		{"2001:2::1", classReserved},
		{"3fff::1", classReserved},
		{"5f00::1", classReserved},
		{"64:ff9b:1::1", classReserved},
		{"fe80::1%eth0", classReserved},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			got, name := classify(netip.MustParseAddr(tt.addr))
			if got != tt.want {
				t.Fatalf("classify(%s) = %d (%s), want %d", tt.addr, got, name, tt.want)
			}
			if (got == classPublic) != (name == "") {
				t.Fatalf("classify(%s) name %q", tt.addr, name)
			}
			err := checkAddr(netip.MustParseAddr(tt.addr), true)
			if (err == nil) != (tt.want != classReserved) {
				t.Fatalf("checkAddr(%s, private allowed) = %v", tt.addr, err)
			}
			err = checkAddr(netip.MustParseAddr(tt.addr), false)
			if (err == nil) != (tt.want == classPublic) {
				t.Fatalf("checkAddr(%s) = %v", tt.addr, err)
			}
			if err != nil && KindOf(err) != KindForbidden {
				t.Fatalf("kind %v", KindOf(err))
			}
		})
	}
}
