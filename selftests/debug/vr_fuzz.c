// SPDX-License-Identifier: GPL-2.0
/*
 * vr_fuzz: stress and fault-injection driver for the vfio_reserve generic
 * netlink family (selftests/debug). Raw netlink sockets, no libnl.
 *
 *   vr_fuzz fuzz [-n COUNT] [-t SECONDS] [-s SEED] [-b BATCH]
 *	Sends COUNT generated messages (random ones, and valid ones of every
 *	command, mutated: attribute types, lengths, nesting, header fields,
 *	truncation), BATCH per sendmsg, and counts what comes back. As root
 *	it never lets a write command name a device on bus 00 other than
 *	00:02.0 (the guest's root file system is 00:07.0). As any other user
 *	every write command must fail with EPERM (EINVAL for a bad header):
 *	anything else is a violation and the exit status is 1.
 *   vr_fuzz status            STATUS_GET, one "name value" line per attribute
 *   vr_fuzz devices           DEVICE_GET dump: "addr vvvv:dddd class driver
 *			       override" per device ("-" when absent)
 *   vr_fuzz rules             RULE_GET dump: "selector origin" per rule
 *   vr_fuzz cmd CMD [ADDR|SELECTOR]
 *			       one request (claim, release, add, del, get);
 *			       prints "ok" or "error ERRNO-NAME" (exit 0/1)
 *   vr_fuzz fault-nl OP ARG   systematic fault injection (fail-nth) on one
 *			       request: OP is add, dumpdev, dumprules, dumpgroups,
 *			       status; see fault_nl() below
 *   vr_fuzz load-nth N KO [PARAMS]
 *			       finit_module(KO) with the N-th fault-injection
 *			       point of this task failing (N 0: none; N -1:
 *			       count them). Prints "rc=ERRNO consumed=0|1
 *			       calls=K"
 *   vr_fuzz churn [-t S] [-i MS] ADDR...
 *			       loop dumps and claim/get/release until SIGTERM
 *   vr_fuzz listen            count events until the family goes away
 *   vr_fuzz family            exit 0 when the family is registered (a dump:
 *			       never loads the module through its alias)
 *
 * Counts are printed as "# " lines (TAP diagnostics).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio_reserve.h>
#include "selector.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define MAX_MSG		4096
#define BUF_SIZE	(256 * 1024)
#define RCV_SIZE	(64 * 1024)
#define SENTINEL_SEQ	0xfffffff0u

static const char *prog = "vr_fuzz";

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- random numbers (xorshift64*) ------------------------------------------ */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rndn(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int percent)
{
	return rndn(100) < percent;
}

/* --- netlink socket ------------------------------------------------------------ */
struct nl {
	int fd;
	uint16_t family;
	uint32_t seq;
};

static int nl_open(struct nl *nl, int rcvbuf)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (rcvbuf) {
		/* Root may go past rmem_max; others get what they can. */
		if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
			       sizeof(rcvbuf)) < 0)
			setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				   sizeof(rcvbuf));
		if (setsockopt(nl->fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf,
			       sizeof(rcvbuf)) < 0)
			setsockopt(nl->fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf,
				   sizeof(rcvbuf));
	}
	nl->seq = 1;
	return 0;
}

static int nl_send(struct nl *nl, const void *buf, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	for (;;) {
		ssize_t n = sendto(nl->fd, buf, len, 0, (struct sockaddr *)&sa,
				   sizeof(sa));

		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* recv with a timeout in ms (-1: block); returns bytes, 0 on timeout, -errno. */
static ssize_t nl_recv(struct nl *nl, void *buf, size_t size, int timeout_ms)
{
	struct pollfd pfd = { .fd = nl->fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		n = recv(nl->fd, buf, size, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno == EINTR || errno == EAGAIN)
			continue;
		return -errno;
	}
}

/* --- message building -------------------------------------------------------- */
struct mb {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static void *mb_put(struct mb *b, const void *data, size_t len)
{
	void *at;

	if (b->len + len > b->cap)
		len = b->cap - b->len;
	at = b->p + b->len;
	if (data)
		memcpy(at, data, len);
	else
		memset(at, 0, len);
	b->len += len;
	return at;
}

static void mb_align(struct mb *b)
{
	while ((b->len & 3) && b->len < b->cap)
		b->p[b->len++] = 0;
}

static size_t attr_start(struct mb *b, uint16_t type)
{
	struct nlattr a = { .nla_len = 0, .nla_type = type };
	size_t at = b->len;

	mb_put(b, &a, sizeof(a));
	return at;
}

static void attr_end(struct mb *b, size_t at)
{
	struct nlattr *a = (struct nlattr *)(b->p + at);

	a->nla_len = (uint16_t)(b->len - at);
	mb_align(b);
}

static void attr_put(struct mb *b, uint16_t type, const void *data, size_t len)
{
	size_t at = attr_start(b, type);

	mb_put(b, data, len);
	attr_end(b, at);
}

static void attr_str(struct mb *b, uint16_t type, const char *s)
{
	attr_put(b, type, s, strlen(s) + 1);
}

static size_t msg_start(struct mb *b, uint16_t type, uint16_t flags,
			uint32_t seq, uint8_t cmd)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags,
			      .nlmsg_seq = seq };
	struct genlmsghdr g = { .cmd = cmd, .version = 1 };
	size_t at = b->len;

	mb_put(b, &h, sizeof(h));
	mb_put(b, &g, sizeof(g));
	return at;
}

static void msg_end(struct mb *b, size_t at)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(b->p + at);

	h->nlmsg_len = (uint32_t)(b->len - at);
	mb_align(b);
}

/* --- resolving the family ------------------------------------------------------ */
static uint32_t events_group;	/* set by resolve_family() */

static void find_events_group(const struct nlattr *groups)
{
	const struct nlattr *g = groups + 1;
	int rem = groups->nla_len - NLA_HDRLEN;

	for (; rem >= NLA_HDRLEN && g->nla_len >= NLA_HDRLEN && g->nla_len <= rem;
	     rem -= NLA_ALIGN(g->nla_len), g = (const void *)((const char *)g + NLA_ALIGN(g->nla_len))) {
		const struct nlattr *a = g + 1;
		int arem = g->nla_len - NLA_HDRLEN;
		const char *name = NULL;
		uint32_t id = 0;

		for (; arem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= arem;
		     arem -= NLA_ALIGN(a->nla_len),
		     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len))) {
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_NAME)
				name = (const char *)(a + 1);
			else if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_ID)
				id = *(const uint32_t *)(a + 1);
		}
		if (name && !strcmp(name, VFIO_RESERVE_MCGRP_EVENTS))
			events_group = id;
	}
}

static int resolve_family(struct nl *nl, const char *name)
{
	int family = -ENOENT;

	uint8_t out[256], in[8192];
	struct mb b = { out, 0, sizeof(out) };
	size_t at = msg_start(&b, GENL_ID_CTRL, NLM_F_REQUEST, nl->seq++,
			      CTRL_CMD_GETFAMILY);
	ssize_t n;

	attr_str(&b, CTRL_ATTR_FAMILY_NAME, name);
	msg_end(&b, at);
	if (nl_send(nl, out, b.len))
		return -EIO;
	for (;;) {
		struct nlmsghdr *h;

		n = nl_recv(nl, in, sizeof(in), 5000);
		if (n <= 0)
			return -ETIMEDOUT;
		for (h = (struct nlmsghdr *)in; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct nlattr *a;
			int rem;

			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -ENOENT;
			}
			if (h->nlmsg_type != GENL_ID_CTRL)
				continue;
			rem = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
			a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
			for (; rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
			       a->nla_len <= rem;
			     rem -= NLA_ALIGN(a->nla_len),
			     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
				if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
					family = *(uint16_t *)(a + 1);
				if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GROUPS)
					find_events_group(a);
			}
			return family;
		}
	}
}

static void open_family(struct nl *nl, int rcvbuf)
{
	int r = nl_open(nl, rcvbuf);

	if (r)
		die("netlink socket: %s", strerror(-r));
	r = resolve_family(nl, VFIO_RESERVE_FAMILY_NAME);
	if (r < 0)
		die("family %s: %s", VFIO_RESERVE_FAMILY_NAME, strerror(-r));
	nl->family = (uint16_t)r;
}

/* --- the guest's PCI devices (for the safety filter) --------------------------- */
#define MAX_DEVS 256
static struct vr_pci_ids devs[MAX_DEVS];
static unsigned int ndevs;

static unsigned long sysfs_hex(const char *dev, const char *file)
{
	char path[512], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtoul(buf, NULL, 16);
}

static void load_devices(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;

	if (!d)
		die("/sys/bus/pci/devices: %s", strerror(errno));
	while ((e = readdir(d)) && ndevs < MAX_DEVS) {
		unsigned int dom, bus, slot, fn;
		struct vr_pci_ids *id = &devs[ndevs];

		if (sscanf(e->d_name, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
			continue;
		memset(id, 0, sizeof(*id));
		id->domain = dom;
		id->bus = (uint8_t)bus;
		id->slot = (uint8_t)slot;
		id->func = (uint8_t)fn;
		id->vendor = (uint16_t)sysfs_hex(e->d_name, "vendor");
		id->device = (uint16_t)sysfs_hex(e->d_name, "device");
		id->subvendor = (uint16_t)sysfs_hex(e->d_name, "subsystem_vendor");
		id->subdevice = (uint16_t)sysfs_hex(e->d_name, "subsystem_device");
		id->class = (uint32_t)sysfs_hex(e->d_name, "class");
		ndevs++;
	}
	closedir(d);
}

/* Devices a privileged fuzzer must never take: bus 00 but the NIC at 00:02.0
 * and the root ports (00:07.0 holds the guest's /, 00:1f.* the LPC bridge
 * with the consoles). */
static bool forbidden_addr(unsigned int dom, unsigned int bus, unsigned int slot)
{
	/* 00:02.0 is a NIC, 00:03.0-00:06.0 root ports (never reserved) */
	return dom == 0 && bus == 0 && (slot < 2 || slot > 6);
}

static bool hexish(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ' ' || c == '\t' || c == '\n' ||
	       c == '+' || c == '-' || c == 'x' || c == 'X';
}

/* Does one selector token (or any suffix of it) take a forbidden device? */
static bool unsafe_token(const char *t, size_t len)
{
	struct vr_selector sel;
	const char *reason;
	size_t i, j;

	for (i = 0; i < len; i++) {
		size_t l = len - i;

		if (l > VR_SEL_TOKEN_MAX + 2)
			continue;
		if (!memchr(t + i, ':', l))
			break;
		if (vr_sel_parse(t + i, l, &sel, &reason) || sel.exclude)
			continue;
		for (j = 0; j < ndevs; j++)
			if (forbidden_addr(devs[j].domain, devs[j].bus, devs[j].slot) &&
			    vr_sel_match(&sel, &devs[j]))
				return true;
	}
	return false;
}

/*
 * Could any string the kernel might read out of @p..@end (an attribute may
 * start at any offset once headers are mutated) name a forbidden device to
 * DEVICE_CLAIM/RELEASE (sscanf "%4x:%2x:%2x.%1x") or select one in RULE_ADD?
 * Conservative: every offset, and every suffix of every comma-separated token.
 */
static bool unsafe_payload(const uint8_t *p, const uint8_t *end)
{
	static char s[MAX_MSG + 1];
	size_t len = (size_t)(end - p), i, seg;

	if (len > MAX_MSG)
		len = MAX_MSG;
	memcpy(s, p, len);
	s[len] = 0;
	for (seg = 0; seg < len; seg += strlen(s + seg) + 1) {
		const char *z = s + seg, *tok;
		size_t zlen = strlen(z);

		if (!zlen || !memchr(z, ':', zlen))
			continue;
		/* what a kernel sscanf might read differently: refuse outright */
		if (strstr(z, "00:07") || strstr(z, "0:7.") || strstr(z, "0:07") ||
		    strcasestr(z, "00:1f") || strcasestr(z, "0:1f") ||
		    strstr(z, "00:00.") || strstr(z, "0:0.") || strstr(z, "0:00."))
			return true;
		for (i = 0; i < zlen; i++) {
			unsigned int dom, bus, slot, fn;

			if (!hexish(z[i]))
				continue;
			if (sscanf(z + i, "%4x:%2x:%2x.%1x", &dom, &bus, &slot, &fn) == 4 &&
			    forbidden_addr(dom, bus, slot))
				return true;
		}
		for (tok = z; tok < z + zlen;) {
			const char *comma = memchr(tok, ',', (size_t)(z + zlen - tok));
			size_t tlen = comma ? (size_t)(comma - tok) : (size_t)(z + zlen - tok);

			if (unsafe_token(tok, tlen))
				return true;
			tok += tlen + 1;
		}
	}
	return false;
}

/* --- the generator -------------------------------------------------------------- */
static const char *const safe_addrs[] = {
	"0000:01:00.0", "01:00.0", "0000:00:02.0", "0000:03:00.0", "0000:03:00.1",
	"0000:02:00.0", "0000:04:00.0", "0000:05:00.0", "0000:01:00.1",
	"0000:00:03.0", "0000:0a:1f.7", "ffff:ff:1f.7", "0000:01:00.8",
	"0000:01:20.0", "0000:01:00", "0000:01:00.0x", "01:00", "", " ",
	"0000-01-00.0", "zzzz:zz:zz.z", "0000:01:00.00", "1:0:0.0",
};
static const char *const danger_addrs[] = { /* unprivileged only */
	"0000:00:07.0", "0000:00:1f.0", "0000:00:1f.2", "0000:00:00.0",
	"00:07.0", "0:0:7.0",
};
static const char *const safe_tokens[] = {
	"0000:01:00.0", "01:00.*", "0000:03:*.*", "8086:10d3",
	"8086:10d3:1af4:1100", "1b36:0010", "class:0200", "class:020000",
	"class:0403", "class:010802", "vf:0000:02:00.0", "vf:02:00.0",
	"!0000:03:00.0", "!class:0403", "!8086:*", "0000:0a:*.*", "dead:*",
	"dead:beef:*:*", "0000:04:00.0", "!0000:01:00.0", "0000:01:00.8",
	"class:zz", "bad token", "", "*", "*:*", "0000:01:*.0", "01:*.*",
	"0000:01:00", "!", "!!0000:01:00.0", "vf:", "class:", "class:01080200",
	"0000:01:00.0,", ",", "8086:10D3", "DEAD:BEEF", "vf:0000:03:00.*",
	"0000:001:00.0",
};
static const char *const danger_tokens[] = { /* unprivileged only */
	"0000:00:*.*", "8086:*", "1af4:1009", "class:0601", "0000:00:07.0",
};

static bool priv;
/* Tunables (-D, -A, -C): percent of DEVICE/GROUP_GET sent as dumps, of
 * messages asking for an ACK, of root's CLAIM/RELEASE naming a real device. */
static unsigned int pct_dump = 20, pct_ack = 70, pct_claim_real = 50;

static const char *pick_addr(void)
{
	if (!priv && chance(20))
		return danger_addrs[rndn(sizeof(danger_addrs) / sizeof(*danger_addrs))];
	return safe_addrs[rndn(sizeof(safe_addrs) / sizeof(*safe_addrs))];
}

static void gen_junk(char *s, size_t max)
{
	/* printable junk without ':' (so never an address or an id) */
	static const char alpha[] = "0123456789abcdefABCDEF.*!,- xyzvfclass_";
	size_t n = rndn((uint32_t)max), i;

	for (i = 0; i < n; i++)
		s[i] = alpha[rndn(sizeof(alpha) - 1)];
	s[n] = 0;
}

static void gen_selector_list(char *s, size_t size)
{
	unsigned int n = 1 + rndn(chance(5) ? 80 : 5), i;
	size_t len = 0;

	s[0] = 0;
	for (i = 0; i < n && len + 40 < size; i++) {
		char junk[40];
		const char *t;

		if (chance(10)) {
			gen_junk(junk, 30);
			t = junk;
		} else if (!priv && chance(20)) {
			t = danger_tokens[rndn(sizeof(danger_tokens) / sizeof(*danger_tokens))];
		} else {
			t = safe_tokens[rndn(sizeof(safe_tokens) / sizeof(*safe_tokens))];
		}
		len += (size_t)snprintf(s + len, size - len, "%s%s", i ? "," : "", t);
	}
	if (chance(3)) { /* too long */
		while (len + 13 < size && len < VFIO_RESERVE_SELECTOR_LIST_MAX + 20)
			len += (size_t)snprintf(s + len, size - len, ",0000:0a:00.0");
	}
}

/* Random attributes, possibly nested, with random types and lengths. */
static void gen_attrs(struct mb *b, int depth, size_t limit)
{
	unsigned int n = rndn(5), i;

	for (i = 0; i < n && b->len + 64 < limit; i++) {
		uint16_t type;
		size_t at;

		switch (rndn(4)) {
		case 0:
			type = (uint16_t)rndn(24);
			break;
		case 1:
			type = (uint16_t)rnd();
			break;
		default:
			type = (uint16_t)(1 + rndn(20));
			break;
		}
		if (chance(15))
			type |= NLA_F_NESTED;
		if (chance(5))
			type |= NLA_F_NET_BYTEORDER;
		at = attr_start(b, type);
		if ((type & NLA_F_NESTED) && depth < 3) {
			gen_attrs(b, depth + 1, limit);
		} else {
			size_t len = rndn(chance(10) ? 300 : 20), j;
			char s[320];

			switch (rndn(4)) {
			case 0: /* string */
				if (priv)
					gen_junk(s, len + 1);
				else
					snprintf(s, sizeof(s), "%s", pick_addr());
				mb_put(b, s, strlen(s) + (chance(80) ? 1 : 0));
				break;
			case 1: { /* u32 / u16 / u8 / u64 */
				uint64_t v = rndn(10) < 5 ? rndn(20) : ((uint64_t)rnd() << 32 | rnd());

				mb_put(b, &v, (size_t)1 << rndn(4));
				break;
			}
			default:
				for (j = 0; j < len && b->len < limit; j++) {
					uint8_t c = (uint8_t)rnd();

					if (priv && c == ':')
						c = '.';
					mb_put(b, &c, 1);
				}
			}
		}
		attr_end(b, at);
		if (chance(10)) { /* a bad nla_len */
			struct nlattr *a = (struct nlattr *)(b->p + at);

			a->nla_len = (uint16_t)(chance(50) ? rndn(4) : a->nla_len + 1 + rndn(64));
		}
	}
}

/* A valid request for CMD, as the helper would send it. */
static void gen_valid(struct mb *b, uint8_t cmd, uint16_t *flags)
{
	char sel[VFIO_RESERVE_SELECTOR_LIST_MAX + 64];
	uint32_t id;

	switch (cmd) {
	case VFIO_RESERVE_CMD_DEVICE_GET:
	case VFIO_RESERVE_CMD_GROUP_GET:
		if (chance(pct_dump)) {
			*flags |= NLM_F_DUMP;
			break;
		}
		if (cmd == VFIO_RESERVE_CMD_DEVICE_GET) {
			attr_str(b, VFIO_RESERVE_A_DEV_ADDR, pick_addr());
		} else {
			id = chance(80) ? rndn(16) : rnd();
			attr_put(b, VFIO_RESERVE_A_GROUP_ID, &id, sizeof(id));
		}
		break;
	case VFIO_RESERVE_CMD_RULE_GET:
		*flags |= NLM_F_DUMP;
		break;
	case VFIO_RESERVE_CMD_RULE_ADD:
	case VFIO_RESERVE_CMD_RULE_DEL:
		gen_selector_list(sel, sizeof(sel));
		attr_str(b, VFIO_RESERVE_A_RULE_SELECTOR_LIST, sel);
		break;
	case VFIO_RESERVE_CMD_DEVICE_CLAIM:
	case VFIO_RESERVE_CMD_DEVICE_RELEASE:
		/* a real claim or release rebinds a device: costly, so rarer */
		attr_str(b, VFIO_RESERVE_A_DEV_ADDR,
			 priv && !chance(pct_claim_real) ? "0000:0a:00.0" : pick_addr());
		break;
	default:
		break;
	}
}

static void mutate(struct mb *b, size_t at, bool *len_bad)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(b->p + at);
	size_t mlen = b->len - at, pos;
	unsigned int n = 1 + rndn(3);

	while (n--) {
		switch (rndn(10)) {
		case 0: /* flip a bit after the netlink header */
		case 1:
			if (mlen > NLMSG_HDRLEN) {
				pos = NLMSG_HDRLEN + rndn((uint32_t)(mlen - NLMSG_HDRLEN));
				b->p[at + pos] ^= (uint8_t)(1u << rndn(8));
			}
			break;
		case 2: /* a random byte */
			if (mlen > NLMSG_HDRLEN) {
				pos = NLMSG_HDRLEN + rndn((uint32_t)(mlen - NLMSG_HDRLEN));
				b->p[at + pos] = (uint8_t)rnd();
			}
			break;
		case 3: /* the genl command */
			b->p[at + NLMSG_HDRLEN] = (uint8_t)(chance(80) ? rndn(12) : rnd());
			break;
		case 4: /* genl version / reserved */
			b->p[at + NLMSG_HDRLEN + 1 + rndn(3)] = (uint8_t)rnd();
			break;
		case 5: /* netlink flags */
			h->nlmsg_flags ^= (uint16_t)(1u << rndn(12));
			break;
		case 6: /* shorter: cut the message (nlmsg_len follows) */
			if (mlen > NLMSG_HDRLEN) {
				size_t cut = rndn((uint32_t)(mlen - NLMSG_HDRLEN));

				b->len -= cut;
				mlen -= cut;
				h->nlmsg_len = (uint32_t)mlen;
			}
			break;
		case 7: /* nlmsg_len lies: ends the batch (so, rarely) */
			if (chance(75)) {
				h->nlmsg_flags ^= (uint16_t)(1u << rndn(16));
				break;
			}
			h->nlmsg_len = chance(50) ? rndn((uint32_t)mlen + 1) :
				       (uint32_t)mlen + 1 + rndn(1000);
			*len_bad = true;
			break;
		case 8: /* the first attribute's length */
			if (mlen >= NLMSG_HDRLEN + GENL_HDRLEN + 4) {
				struct nlattr *a = (struct nlattr *)(b->p + at + NLMSG_HDRLEN +
								      GENL_HDRLEN);
				a->nla_len = (uint16_t)(chance(50) ? rndn(8) : rnd());
			}
			break;
		default: /* trailing junk */
			gen_attrs(b, 0, b->cap - 64);
			mlen = b->len - at;
			h->nlmsg_len = (uint32_t)mlen;
			break;
		}
	}
}

/* What the kernel must answer to an unprivileged request. */
/*
 * EXP_EPERM_DUMP: a write command asked for as a dump (NLM_F_DUMP). Before
 * 6.2 genetlink checked GENL_ADMIN_PERM first (-EPERM); later kernels look
 * the operation up by do/dump first, and a do-only command has no dump:
 * -EOPNOTSUPP. Either refuses it and changes nothing.
 */
enum expect { EXP_ANY, EXP_EPERM, EXP_EINVAL, EXP_EPERM_DUMP };

struct sent {
	uint8_t cmd;
	uint8_t expect;
	uint8_t acked;
	uint8_t admin;
};

/*
 * One message at the end of @b. Returns false when it must end the batch
 * (its nlmsg_len is not the truth, or it is a truncated header).
 */
static bool gen_msg(struct mb *b, struct nl *nl, uint32_t seq, struct sent *st)
{
	uint16_t flags = NLM_F_REQUEST | (chance(pct_ack) ? NLM_F_ACK : 0);
	size_t at, limit = b->len + MAX_MSG;
	bool len_bad = false, end = false;
	uint8_t cmd;
	uint16_t type = nl->family;
	unsigned int kind = rndn(100);
	struct nlmsghdr *h;

	if (limit > b->cap)
		limit = b->cap;
	if (kind < 3)
		type = (uint16_t)rndn(NLMSG_MIN_TYPE);	/* NOOP, ERROR, DONE, ... */
	else if (kind < 5)
		type = GENL_ID_CTRL;
	else if (kind < 6)
		type = 0xfff0;				/* no such family */

	cmd = (uint8_t)(chance(95) ? 1 + rndn(VFIO_RESERVE_CMD_MAX) : rnd());
	at = msg_start(b, type, flags, seq, cmd);
	if (type == GENL_ID_CTRL) {
		b->p[at + NLMSG_HDRLEN] = CTRL_CMD_GETFAMILY;
		if (chance(50))
			attr_str(b, CTRL_ATTR_FAMILY_NAME, VFIO_RESERVE_FAMILY_NAME);
		else
			gen_attrs(b, 0, limit);
	} else if (kind < 55) {
		h = (struct nlmsghdr *)(b->p + at);
		gen_valid(b, cmd, &flags);
		h->nlmsg_flags = flags;
		if (chance(20))
			gen_attrs(b, 0, limit);
	} else if (kind < 85) {
		gen_attrs(b, 0, limit);
		if (chance(20))
			((struct nlmsghdr *)(b->p + at))->nlmsg_flags |= NLM_F_DUMP;
	} else {
		size_t n = rndn(200), i;

		for (i = 0; i < n; i++) {
			uint8_t c = (uint8_t)rnd();

			mb_put(b, &c, 1);
		}
	}
	msg_end(b, at);
	if (chance(45))
		mutate(b, at, &len_bad);
	if (rndn(1000) < 4) { /* a truncated netlink header ends the batch */
		size_t cut = rndn(NLMSG_HDRLEN);

		b->len = at + cut;
		return false;
	}
	h = (struct nlmsghdr *)(b->p + at);
	if (!len_bad)
		h->nlmsg_len = (uint32_t)(b->len - at);
	else
		end = true;
	h->nlmsg_seq = seq;

	/* Safety and expectations, from what the kernel will actually see. */
	{
		size_t klen = h->nlmsg_len < b->len - at ? h->nlmsg_len : b->len - at;
		uint8_t kcmd = klen > NLMSG_HDRLEN ? b->p[at + NLMSG_HDRLEN] : 0;
		uint8_t resv0 = klen > NLMSG_HDRLEN + 2 ? b->p[at + NLMSG_HDRLEN + 2] : 0;
		uint8_t resv1 = klen > NLMSG_HDRLEN + 3 ? b->p[at + NLMSG_HDRLEN + 3] : 0;
		bool admin = kcmd >= VFIO_RESERVE_CMD_RULE_ADD &&
			     kcmd <= VFIO_RESERVE_CMD_DEVICE_RELEASE;
		bool reaches = h->nlmsg_type == nl->family &&
			       (h->nlmsg_flags & NLM_F_REQUEST) &&
			       h->nlmsg_len >= NLMSG_HDRLEN &&
			       h->nlmsg_len <= b->len - at;
		uint16_t fl = h->nlmsg_flags;

		/* As root, whatever the kernel may parse out of these bytes
		 * (a short nlmsg_len makes it read the rest as more messages)
		 * must be harmless. */
		if (priv && unsafe_payload(b->p + at + NLMSG_HDRLEN, b->p + b->len)) {
			b->len = at;	/* drop it: regenerate */
			return gen_msg(b, nl, seq, st);
		}
		st->cmd = kcmd;
		st->acked = 0;
		st->admin = reaches && admin && klen >= NLMSG_HDRLEN + GENL_HDRLEN;
		st->expect = EXP_ANY;
		if (!priv && reaches) {
			if (h->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
				st->expect = EXP_EINVAL;
			} else if (admin) {
				bool dump = (fl & NLM_F_DUMP) == NLM_F_DUMP;

				if (dump)
					fl &= (uint16_t)~NLM_F_DUMP;
				if (resv0 || resv1 ||
				    (fl & ~(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO)))
					st->expect = dump ? EXP_ANY : EXP_EINVAL;
				else
					st->expect = dump ? EXP_EPERM_DUMP : EXP_EPERM;
			}
		}
	}
	mb_align(b);
	return !end;
}

/* --- the fuzz loop ------------------------------------------------------------------- */
struct stats {
	unsigned long sent, batches, acks, errors, replies, dones, overruns;
	unsigned long err_count[140];
	unsigned long admin, admin_eperm, admin_einval, violations, unacked;
	unsigned long fam_msgs[16];
};

static void violation(struct stats *s, const char *fmt, ...)
{
	va_list ap;

	s->violations++;
	if (s->violations > 20)
		return;
	va_start(ap, fmt);
	printf("# VIOLATION: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static void handle(struct nl *nl, struct stats *s, struct sent *tab, uint32_t base,
		   uint32_t nsent, const uint8_t *buf, ssize_t n, bool *sentinel)
{
	const struct nlmsghdr *h;

	for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
	     h = NLMSG_NEXT(h, n)) {
		uint32_t seq = h->nlmsg_seq;
		struct sent *st = seq - base < nsent ? &tab[seq - base] : NULL;

		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			int err = -e->error;

			if (seq == SENTINEL_SEQ) {
				*sentinel = true;
				continue;
			}
			if (err == 0) {
				s->acks++;
			} else {
				s->errors++;
				s->err_count[err > 0 && err < 139 ? err : 139]++;
			}
			if (!st)
				continue;
			st->acked = 1;
			if (st->expect == EXP_EPERM && err != EPERM)
				violation(s, "unprivileged cmd %u answered %d, not -EPERM",
					  st->cmd, -err);
			else if (st->expect == EXP_EPERM_DUMP && err != EPERM &&
				 err != EOPNOTSUPP)
				violation(s, "unprivileged cmd %u (as a dump) answered %d, not -EPERM or -EOPNOTSUPP",
					  st->cmd, -err);
			else if (st->expect == EXP_EINVAL && err != EINVAL)
				violation(s, "unprivileged cmd %u (bad header) answered %d, not -EINVAL",
					  st->cmd, -err);
			if (!priv && st->admin && err == 0)
				violation(s, "unprivileged write cmd %u succeeded", st->cmd);
			if (st->admin) {
				s->admin++;
				if (err == EPERM)
					s->admin_eperm++;
				else if (err == EINVAL)
					s->admin_einval++;
			}
		} else if (h->nlmsg_type == NLMSG_DONE) {
			s->dones++;
		} else if (h->nlmsg_type == nl->family) {
			const struct genlmsghdr *g = NLMSG_DATA(h);

			s->replies++;
			s->fam_msgs[g->cmd < 16 ? g->cmd : 15]++;
			if (!priv && g->cmd >= VFIO_RESERVE_CMD_RULE_ADD &&
			    g->cmd <= VFIO_RESERVE_CMD_DEVICE_RELEASE)
				violation(s, "unprivileged got a reply to write cmd %u", g->cmd);
		} else {
			s->replies++;
		}
	}
}

static int cmd_fuzz(int argc, char **argv)
{
	unsigned long count = 100000, batch = 64;
	double seconds = 0, t0, last;
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	struct stats s = { 0 };
	struct sent *tab;
	uint8_t *buf, *in;
	struct nl nl;
	uint32_t seq = 0x10000000;
	int opt, i;

	bool dry = false;

	while ((opt = getopt(argc, argv, "n:t:s:b:dPD:A:C:")) != -1) {
		switch (opt) {
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 't': seconds = strtod(optarg, NULL); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'b': batch = strtoul(optarg, NULL, 0); break;
		case 'd': dry = true; break;	/* generate only (no kernel) */
		case 'P': priv = true; break;
		case 'D': pct_dump = (unsigned int)atoi(optarg); break;
		case 'A': pct_ack = (unsigned int)atoi(optarg); break;
		case 'C': pct_claim_real = (unsigned int)atoi(optarg); break;
		default: die("usage: fuzz [-n COUNT] [-t SECONDS] [-s SEED] [-b BATCH] "
			     "[-D DUMP%%] [-A ACK%%] [-C REALCLAIM%%]");
		}
	}
	if (!batch || batch > 4096)
		die("bad batch size");
	priv = priv || geteuid() == 0;
	rng_state = seed ? seed : 1;
	load_devices();
	if (dry) {
		unsigned long bytes = 0;

		buf = malloc(BUF_SIZE);
		tab = calloc(1, sizeof(*tab));
		nl.family = 0x20;
		t0 = now_s();
		for (; s.sent < count; s.sent++) {
			struct mb b = { buf, 0, MAX_MSG };

			gen_msg(&b, &nl, seq++, tab);
			bytes += b.len;
			s.admin += tab->admin;
			s.violations += tab->expect == EXP_EPERM ||
					tab->expect == EXP_EPERM_DUMP;
		}
		printf("# dry run: %lu messages, %lu bytes, admin %lu, expect-EPERM %lu, %.0f/s\n",
		       s.sent, bytes, s.admin, s.violations, s.sent / (now_s() - t0));
		return 0;
	}
	open_family(&nl, 4 << 20);
	buf = malloc(BUF_SIZE);
	in = malloc(RCV_SIZE);
	tab = calloc(batch + 1, sizeof(*tab));
	if (!buf || !in || !tab)
		die("out of memory");
	printf("# fuzz: %s, uid %u, seed %#llx, family id %u, batch %lu\n",
	       priv ? "privileged" : "unprivileged", geteuid(),
	       (unsigned long long)seed, nl.family, batch);
	fflush(stdout);
	t0 = last = now_s();
	while (s.sent < count) {
		struct mb b = { buf, 0, BUF_SIZE - MAX_MSG };
		uint32_t base = seq, n = 0;
		bool sentinel = false;
		uint8_t noop[NLMSG_HDRLEN];
		struct nlmsghdr *nh = (struct nlmsghdr *)noop;
		double deadline;
		ssize_t r;

		if (seconds && now_s() - t0 > seconds)
			break;
		while (n < batch && s.sent + n < count && b.len < BUF_SIZE - 2 * MAX_MSG) {
			b.cap = b.len + MAX_MSG;
			if (!gen_msg(&b, &nl, seq, &tab[n])) {
				n++;
				seq++;
				break;
			}
			n++;
			seq++;
		}
		if (seq > SENTINEL_SEQ - 5000)
			seq = 0x10000000;
		/* (a batch of one header cut to nothing is not sent: ENODATA) */
		r = b.len ? nl_send(&nl, buf, b.len) : 0;
		if (r && r != -ENOBUFS && r != -EMSGSIZE)
			die("sendmsg: %s", strerror((int)-r));
		s.sent += n;
		s.batches++;
		/* The sentinel: a NOOP with ACK, processed after the batch. */
		memset(noop, 0, sizeof(noop));
		nh->nlmsg_len = NLMSG_HDRLEN;
		nh->nlmsg_type = NLMSG_NOOP;
		nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		nh->nlmsg_seq = SENTINEL_SEQ;
		if (nl_send(&nl, noop, sizeof(noop)))
			die("sendmsg (sentinel): %s", strerror(errno));
		deadline = now_s() + 60;
		while (!sentinel) {
			r = nl_recv(&nl, in, RCV_SIZE, 1000);
			if (r == -ENOBUFS) {
				s.overruns++;
				continue;
			}
			if (r < 0)
				die("recv: %s", strerror((int)-r));
			if (r == 0 && now_s() > deadline) {
				violation(&s, "no answer to the sentinel in 60 s");
				break;
			}
			handle(&nl, &s, tab, base, n, in, r, &sentinel);
		}
		/* Drain: a dump still running continues with each recv. */
		while ((r = nl_recv(&nl, in, RCV_SIZE, 0)) != 0) {
			if (r == -ENOBUFS) {
				s.overruns++;
				continue;
			}
			if (r < 0)
				break;
			handle(&nl, &s, tab, base, n, in, r, &sentinel);
		}
		for (i = 0; i < (int)n; i++)
			if (tab[i].expect != EXP_ANY && !tab[i].acked)
				s.unacked++;
		if (s.unacked && !s.overruns && !s.violations)
			violation(&s, "%lu unprivileged write requests got no answer "
				  "(and the socket never overran)", s.unacked);
		if (now_s() - last > 30) {
			last = now_s();
			printf("# fuzz: %lu messages, %.0f/s\n", s.sent, s.sent / (last - t0));
			fflush(stdout);
		}
	}
	t0 = now_s() - t0;
	printf("# fuzz: %s done: messages=%lu batches=%lu seconds=%.1f rate=%.0f/s\n",
	       priv ? "privileged" : "unprivileged", s.sent, s.batches, t0,
	       t0 > 0 ? s.sent / t0 : 0.0);
	printf("# fuzz: acks=%lu errors=%lu replies=%lu dumps_done=%lu overruns=%lu\n",
	       s.acks, s.errors, s.replies, s.dones, s.overruns);
	printf("# fuzz: errno:");
	for (i = 1; i < 140; i++)
		if (s.err_count[i])
			printf(" %s=%lu", i == 139 ? "other" : strerrorname_np(i) ?
			       strerrorname_np(i) : "?", s.err_count[i]);
	printf("\n# fuzz: replies by cmd:");
	for (i = 0; i < 16; i++)
		if (s.fam_msgs[i])
			printf(" %d=%lu", i, s.fam_msgs[i]);
	printf("\n# fuzz: write commands reaching genl=%lu (EPERM=%lu EINVAL=%lu) "
	       "expected-but-unanswered=%lu violations=%lu\n",
	       s.admin, s.admin_eperm, s.admin_einval, s.unacked, s.violations);
	printf("FUZZ-RESULT role=%s messages=%lu violations=%lu admin=%lu admin_eperm=%lu unacked=%lu overruns=%lu\n",
	       priv ? "priv" : "unpriv", s.sent, s.violations, s.admin, s.admin_eperm,
	       s.unacked, s.overruns);
	return s.violations ? 1 : 0;
}

/* --- simple requests -------------------------------------------------------------- */
struct attrs {
	const struct nlattr *a[32];
};

static void parse_attrs(const struct nlmsghdr *h, struct attrs *at)
{
	const struct nlattr *a = (const void *)((const char *)NLMSG_DATA(h) + GENL_HDRLEN);
	int rem = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	memset(at, 0, sizeof(*at));
	for (; rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len),
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) < 32)
			at->a[a->nla_type & NLA_TYPE_MASK] = a;
}

static const char *astr(const struct attrs *at, int t)
{
	return at->a[t] ? (const char *)(at->a[t] + 1) : NULL;
}

static uint32_t au(const struct attrs *at, int t)
{
	const struct nlattr *a = at->a[t];

	if (!a)
		return 0;
	switch (a->nla_len - 4) {
	case 1: return *(const uint8_t *)(a + 1);
	case 2: return *(const uint16_t *)(a + 1);
	default: return *(const uint32_t *)(a + 1);
	}
}

typedef void (*msg_cb)(const struct nlmsghdr *h, void *arg);

/* The last request's answer was lost (ENOBUFS on the socket): its outcome
 * is unknown to userspace. */
static bool last_lost;

/*
 * Send one request (dump or do) and read everything back. Returns 0 or the
 * kernel's -errno; a recv error (ENOBUFS while a fault is injected) is
 * returned as well once the request is over. *complete: a dump saw DONE.
 */
static int request(struct nl *nl, uint8_t cmd, uint16_t flags, uint16_t atype,
		   const void *adata, size_t alen, msg_cb cb, void *arg, bool *complete)
{
	uint8_t out[4096], *in = malloc(RCV_SIZE);
	struct mb b = { out, 0, sizeof(out) };
	uint32_t seq = nl->seq++;
	size_t at = msg_start(&b, nl->family, NLM_F_REQUEST | NLM_F_ACK | flags, seq, cmd);
	bool dump = flags & NLM_F_DUMP, done = false;
	int ret = 0, rerr = 0;

	if (!in)
		die("out of memory");
	if (complete)
		*complete = false;
	if (atype)
		attr_put(&b, atype, adata, alen);
	msg_end(&b, at);
	last_lost = false;
	ret = nl_send(nl, out, b.len);
	if (ret) {
		free(in);
		last_lost = ret == -ENOBUFS;
		return ret;
	}
	while (!done) {
		/* after an overrun, what is left comes at once or never */
		ssize_t n = nl_recv(nl, in, RCV_SIZE, rerr ? 500 : 20000);
		const struct nlmsghdr *h;

		if (n == 0) {
			ret = rerr ? rerr : -ETIMEDOUT;
			last_lost = rerr != 0;
			break;
		}
		if (n < 0) {
			rerr = (int)n;
			if (n == -ENOBUFS)
				continue;
			ret = (int)n;
			break;
		}
		for (h = (const void *)in; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				ret = e->error;
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int e = *(const int *)NLMSG_DATA(h);

				if (complete)
					*complete = e == 0;
				ret = e;
				done = dump;
				if (done)
					break;
				continue;
			}
			if (cb)
				cb(h, arg);
		}
	}
	free(in);
	/*
	 * An ack (or DONE) is the outcome, even after an error on the socket;
	 * without one, the socket's error is. ENOBUFS, on the socket or in the
	 * ack, is the netlink core failing to deliver a message (the module
	 * never returns it): the request's outcome is unknown, as for a lost
	 * answer.
	 */
	if (!done && !ret)
		ret = rerr;
	if (ret == -ENOBUFS)
		last_lost = true;
	return ret;
}

static void print_status(const struct nlmsghdr *h, void *arg)
{
	static const char *const names[] = {
		NULL, "version", "iommu", "intr_remap", "reclaim", "dry_run",
		"rules", "reserved", "pending", "config_error",
	};
	struct attrs at;
	int t;

	(void)arg;
	parse_attrs(h, &at);
	for (t = 1; t <= VFIO_RESERVE_A_STATUS_MAX; t++) {
		if (!at.a[t])
			continue;
		if (t == VFIO_RESERVE_A_STATUS_VERSION || t == VFIO_RESERVE_A_STATUS_RECLAIM ||
		    t == VFIO_RESERVE_A_STATUS_CONFIG_ERROR)
			printf("%s %s\n", names[t], astr(&at, t));
		else
			printf("%s %u\n", names[t], au(&at, t));
	}
}

/* A growing text buffer for dumps compared across runs. */
struct text {
	char *p;
	size_t len, cap;
	unsigned int n;
};

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (!t->p)
			die("out of memory");
	}
	va_start(ap, fmt);
	vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
	t->n++;
}

static void dev_line(const struct nlmsghdr *h, void *arg)
{
	struct attrs at;
	const char *drv, *ovr;

	parse_attrs(h, &at);
	drv = astr(&at, VFIO_RESERVE_A_DEV_DRIVER);
	ovr = astr(&at, VFIO_RESERVE_A_DEV_OVERRIDE);
	text_add(arg, "%s %04x:%04x %06x %s %s\n",
		 astr(&at, VFIO_RESERVE_A_DEV_ADDR) ?: "?",
		 au(&at, VFIO_RESERVE_A_DEV_VENDOR), au(&at, VFIO_RESERVE_A_DEV_DEVICE),
		 au(&at, VFIO_RESERVE_A_DEV_CLASS),
		 drv && *drv ? drv : "-", ovr && *ovr ? ovr : "-");
}

static void rule_line(const struct nlmsghdr *h, void *arg)
{
	struct attrs at;

	parse_attrs(h, &at);
	text_add(arg, "%s %u\n", astr(&at, VFIO_RESERVE_A_RULE_SELECTOR) ?: "?",
		 au(&at, VFIO_RESERVE_A_RULE_ORIGIN));
}

static void group_line(const struct nlmsghdr *h, void *arg)
{
	struct attrs at;
	const struct nlattr *a;
	int rem;

	parse_attrs(h, &at);
	text_add(arg, "group %u viable %u in_use %u:", au(&at, VFIO_RESERVE_A_GROUP_ID),
		 au(&at, VFIO_RESERVE_A_GROUP_VIABLE), au(&at, VFIO_RESERVE_A_GROUP_IN_USE));
	a = (const void *)((const char *)NLMSG_DATA(h) + GENL_HDRLEN);
	rem = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (; rem >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len),
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == VFIO_RESERVE_A_GROUP_MEMBER) {
			const struct nlattr *m = a + 1;
			int mrem = a->nla_len - 4;

			for (; mrem >= 4 && m->nla_len >= 4 && m->nla_len <= mrem;
			     mrem -= NLA_ALIGN(m->nla_len),
			     m = (const void *)((const char *)m + NLA_ALIGN(m->nla_len)))
				if ((m->nla_type & NLA_TYPE_MASK) == VFIO_RESERVE_A_MEMBER_ADDR)
					text_add(arg, " %s", (const char *)(m + 1));
		}
	text_add(arg, "\n");
}

/* The line of @t that starts with "@key ", without its newline. */
/* "# - line" for lines of @a missing from @b, "# + line" the other way. */
static void print_missing(const struct text *a, const struct text *b, char sign)
{
	const char *p = a->p ?: "", *e;

	for (; *p; p = *e ? e + 1 : e) {
		size_t l;
		const char *q = b->p ?: "";
		bool seen = false;

		e = strchr(p, '\n') ?: p + strlen(p);
		l = (size_t)(e - p);
		while (*q && !seen) {
			const char *qe = strchr(q, '\n') ?: q + strlen(q);

			seen = (size_t)(qe - q) == l && !strncmp(p, q, l);
			q = *qe ? qe + 1 : qe;
		}
		if (!seen && l)
			printf("# %c %.*s\n", sign, (int)l, p);
	}
}

static void print_diff(const struct text *ref, const struct text *now)
{
	print_missing(ref, now, '-');
	print_missing(now, ref, '+');
}

static bool find_line(const struct text *t, const char *key, char *out, size_t size)
{
	const char *l = t->p;
	size_t klen = strlen(key);

	while (l && *l) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len > klen && !strncmp(l, key, klen) && l[klen] == ' ') {
			snprintf(out, size, "%.*s", (int)len, l);
			return true;
		}
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

static int dump_text(struct nl *nl, uint8_t cmd, msg_cb cb, struct text *t, bool *complete)
{
	t->len = 0;
	t->n = 0;
	if (t->p)
		t->p[0] = 0;
	return request(nl, cmd, NLM_F_DUMP, 0, NULL, 0, cb, t, complete);
}

static const char *errname(int err)
{
	const char *n = err < 0 ? strerrorname_np(-err) : NULL;

	return n ? n : "?";
}

static int cmd_simple(int argc, char **argv)
{
	struct text t = { 0 };
	struct nl nl;
	bool complete;
	int ret;

	open_family(&nl, 1 << 20);
	if (!strcmp(argv[0], "status")) {
		ret = request(&nl, VFIO_RESERVE_CMD_STATUS_GET, 0, 0, NULL, 0,
			      print_status, NULL, NULL);
	} else if (!strcmp(argv[0], "devices") || !strcmp(argv[0], "rules") ||
		   !strcmp(argv[0], "groups")) {
		if (argv[0][0] == 'd')
			ret = dump_text(&nl, VFIO_RESERVE_CMD_DEVICE_GET, dev_line, &t, &complete);
		else if (argv[0][0] == 'r')
			ret = dump_text(&nl, VFIO_RESERVE_CMD_RULE_GET, rule_line, &t, &complete);
		else
			ret = dump_text(&nl, VFIO_RESERVE_CMD_GROUP_GET, group_line, &t, &complete);
		if (t.p)
			fputs(t.p, stdout);
		if (!ret && !complete)
			ret = -EPROTO;
	} else if (!strcmp(argv[0], "cmd") && argc >= 2) {
		static const struct { const char *name; uint8_t cmd; uint16_t attr; } c[] = {
			{ "claim", VFIO_RESERVE_CMD_DEVICE_CLAIM, VFIO_RESERVE_A_DEV_ADDR },
			{ "release", VFIO_RESERVE_CMD_DEVICE_RELEASE, VFIO_RESERVE_A_DEV_ADDR },
			{ "get", VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR },
			{ "add", VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST },
			{ "del", VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST },
		};
		unsigned int i;

		for (i = 0; i < sizeof(c) / sizeof(*c); i++)
			if (!strcmp(argv[1], c[i].name))
				break;
		if (i == sizeof(c) / sizeof(*c) || argc < 3)
			die("cmd claim|release|get|add|del ARG [COUNT]");
		if (argc > 3) { /* COUNT times: "N ERRNAME" counts */
			unsigned long count = strtoul(argv[3], NULL, 0), k, hist[140] = { 0 };
			int e;

			for (k = 0; k < count; k++) {
				ret = request(&nl, c[i].cmd, 0, c[i].attr, argv[2],
					      strlen(argv[2]) + 1, NULL, NULL, NULL);
				hist[-ret >= 0 && -ret < 139 ? -ret : 139]++;
			}
			for (e = 0; e < 140; e++)
				if (hist[e])
					printf("%lu %s\n", hist[e], e == 0 ? "ok" :
					       e == 139 ? "other" : errname(-e));
			return 0;
		}
		ret = request(&nl, c[i].cmd, 0, c[i].attr, argv[2], strlen(argv[2]) + 1,
			      NULL, NULL, NULL);
		if (ret)
			printf("error %s\n", errname(ret));
		else
			printf("ok\n");
	} else {
		die("unknown command %s", argv[0]);
	}
	if (ret && strcmp(argv[0], "cmd"))
		fprintf(stderr, "%s: %s: %s\n", prog, argv[0], strerror(-ret));
	return ret ? 1 : 0;
}

/* --- fault injection ----------------------------------------------------------------- */
static int fail_nth_fd = -1;

static void set_fail_nth(long n)
{
	char s[32];
	int len = snprintf(s, sizeof(s), "%ld", n);

	if (fail_nth_fd < 0) {
		fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
		if (fail_nth_fd < 0)
			die("/proc/thread-self/fail-nth: %s", strerror(errno));
	}
	if (pwrite(fail_nth_fd, s, (size_t)len, 0) != len)
		die("write fail-nth: %s", strerror(errno));
}

static long get_fail_nth(void)
{
	char s[32] = "";

	if (pread(fail_nth_fd, s, sizeof(s) - 1, 0) < 0)
		die("read fail-nth: %s", strerror(errno));
	return strtol(s, NULL, 10);
}

/*
 * fault-nl OP [ARG]: for N = 1, 2, ... make the N-th fault-injection point of
 * this thread fail during one request, until a run consumes no fault. After
 * each run: an error must be clean (the rule dump and device dump as before),
 * a success must be whole (RULE_ADD: the rules are in, and deleted again; a
 * dump: equal to the reference). Prints counts; exit 1 on any violation.
 */
static unsigned int count_tokens(const char *s)
{
	unsigned int n = 1;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

static int fault_request(struct nl *nl, const char *op, const char *arg,
			 struct text *t, bool *complete)
{
	if (!strcmp(op, "add") || !strcmp(op, "del"))
		return request(nl, op[0] == 'a' ? VFIO_RESERVE_CMD_RULE_ADD :
			       VFIO_RESERVE_CMD_RULE_DEL, 0, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
			       arg, strlen(arg) + 1, NULL, NULL, NULL);
	if (!strcmp(op, "dumpdev"))
		return dump_text(nl, VFIO_RESERVE_CMD_DEVICE_GET, dev_line, t, complete);
	if (!strcmp(op, "dumprules"))
		return dump_text(nl, VFIO_RESERVE_CMD_RULE_GET, rule_line, t, complete);
	if (!strcmp(op, "dumpgroups"))
		return dump_text(nl, VFIO_RESERVE_CMD_GROUP_GET, group_line, t, complete);
	if (!strcmp(op, "status"))
		return request(nl, VFIO_RESERVE_CMD_STATUS_GET, 0, 0, NULL, 0, NULL, NULL,
			       NULL);
	if (!strcmp(op, "get") || !strcmp(op, "claim"))
		return request(nl, op[0] == 'g' ? VFIO_RESERVE_CMD_DEVICE_GET :
			       VFIO_RESERVE_CMD_DEVICE_CLAIM, 0, VFIO_RESERVE_A_DEV_ADDR,
			       arg, strlen(arg) + 1, NULL, NULL, NULL);
	die("unknown fault-nl op %s", op);
	return 0;
}

static void must_dump(struct nl *nl, uint8_t cmd, msg_cb cb, struct text *t)
{
	bool complete;
	int ret = dump_text(nl, cmd, cb, t, &complete);

	if (ret || !complete)
		die("a dump (cmd %u) without faults failed: %s", cmd,
		    ret ? strerror(-ret) : "no DONE");
}

#define FAULT_VIOLATION(...) do {					\
		bad++;							\
		if (bad <= 10) {					\
			printf("# VIOLATION: " __VA_ARGS__);		\
			printf("\n");					\
		}							\
	} while (0)

/*
 * fault-nl OP [ARG]: for N = 1, 2, ... make the N-th fault-injection point of
 * this thread fail during one request, until a run consumes no fault. After
 * each run, read without faults: a failed request changed nothing (the rule
 * and device dumps are as before), a successful one is whole (RULE_ADD: all
 * its rules are in; RULE_DEL: all gone; a dump: equal to the reference), and
 * one whose answer was lost (ENOBUFS on the socket) is one or the other.
 * OPs: add SELECTORS (none may match a device), del SELECTORS (present),
 * claim ADDR (a device with no driver: a claim that took is released
 * again), dumpdev, dumprules, dumpgroups, status, get ADDR. Exit 1 on a
 * violation.
 */
static int cmd_fault_nl(int argc, char **argv)
{
	const char *op = argv[1], *arg = argc > 2 ? argv[2] : "0000:0a:00.0";
	struct text ref_rules = { 0 }, ref_devs = { 0 }, ref_groups = { 0 }, t = { 0 };
	unsigned long runs = 0, errs = 0, oks = 0, lost = 0, bad = 0, max = 20000;
	unsigned long bind_failed = 0;
	bool lost_now;
	unsigned long errhist[140] = { 0 };
	bool rules_op = !strcmp(op, "add") || !strcmp(op, "del");
	unsigned int ntok = count_tokens(arg);
	struct nl nl, nl2;
	long n, left = 0;
	int i;

	if (argc < 2)
		die("fault-nl add|del|claim|dumpdev|dumprules|dumpgroups|status|get [ARG]");
	open_family(&nl2, 1 << 20);	/* for the checks, never faulted */
	must_dump(&nl2, VFIO_RESERVE_CMD_RULE_GET, rule_line, &ref_rules);
	must_dump(&nl2, VFIO_RESERVE_CMD_DEVICE_GET, dev_line, &ref_devs);
	must_dump(&nl2, VFIO_RESERVE_CMD_GROUP_GET, group_line, &ref_groups);

	for (n = 1; n <= (long)max; n++) {
		bool complete = false, same, whole;
		int ret;

		open_family(&nl, 1 << 20);
		set_fail_nth(n);
		ret = fault_request(&nl, op, arg, &t, &complete);
		/* the checks below make requests of their own */
		lost_now = last_lost;
		left = get_fail_nth();
		set_fail_nth(0);
		close(nl.fd);
		runs++;
		if (lost_now)
			lost++;
		else if (ret)
			errs++, errhist[-ret > 0 && -ret < 139 ? -ret : 139]++;
		else
			oks++;

		if (rules_op) {
			must_dump(&nl2, VFIO_RESERVE_CMD_RULE_GET, rule_line, &t);
			same = !strcmp(t.p ?: "", ref_rules.p ?: "");
			if (op[0] == 'a')
				whole = t.n == ref_rules.n + ntok &&
					!strncmp(t.p ?: "", ref_rules.p ?: "", ref_rules.len);
			else
				whole = t.n + ntok == ref_rules.n;
			if (ret && !lost_now && !same)
				FAULT_VIOLATION("%s failed (%s) at fault %ld but the rules changed "
						"(%u rules, %u before)", op, errname(ret), n, t.n,
						ref_rules.n);
			if (!ret && !whole)
				FAULT_VIOLATION("%s succeeded at fault %ld but the rules are not "
						"whole (%u rules, %u before)", op, n, t.n, ref_rules.n);
			if (lost_now && !same && !whole)
				FAULT_VIOLATION("%s (answer lost) at fault %ld left %u rules, %u "
						"before", op, n, t.n, ref_rules.n);
			if (!same) { /* undo, without faults */
				ret = request(&nl2, op[0] == 'a' ? VFIO_RESERVE_CMD_RULE_DEL :
					      VFIO_RESERVE_CMD_RULE_ADD, 0,
					      VFIO_RESERVE_A_RULE_SELECTOR_LIST, arg, strlen(arg) + 1,
					      NULL, NULL, NULL);
				if (ret)
					die("cannot undo %s %s: %s", op, arg, strerror(-ret));
				must_dump(&nl2, VFIO_RESERVE_CMD_RULE_GET, rule_line, &ref_rules);
			}
		} else if (!ret && !strncmp(op, "dump", 4)) {
			const struct text *ref = op[4] == 'd' ? &ref_devs :
						 op[4] == 'r' ? &ref_rules : &ref_groups;

			if (!complete || strcmp(t.p ?: "", ref->p ?: ""))
				FAULT_VIOLATION("%s at fault %ld returned success but %s (%u "
						"entries, reference %u)", op, n,
						complete ? "different content" : "no DONE", t.n,
						ref->n);
		}
		if (!strcmp(op, "claim")) {
			/* a claim that took: on vfio-pci; give it back (no faults) */
			char line[256];

			must_dump(&nl2, VFIO_RESERVE_CMD_DEVICE_GET, dev_line, &t);
			if (!ret || lost_now) {
				bool found = find_line(&t, arg, line, sizeof(line));
				size_t ll = strlen(line);

				/* "- vfio-pci": reserved, vfio-pci's own probe failed */
				if (!ret && found && ll > 11 && !strcmp(line + ll - 11, " - vfio-pci"))
					bind_failed++;
				else if (!ret && (!found || !strstr(line, " vfio-pci vfio-pci")))
					FAULT_VIOLATION("claim succeeded at fault %ld but the device "
							"is '%s'", n, found ? line : "gone");
				if (strcmp(t.p ?: "", ref_devs.p ?: "")) {
					ret = request(&nl2, VFIO_RESERVE_CMD_DEVICE_RELEASE, 0,
						      VFIO_RESERVE_A_DEV_ADDR, arg, strlen(arg) + 1,
						      NULL, NULL, NULL);
					if (ret)
						die("cannot release %s: %s", arg, strerror(-ret));
				}
			}
		}
		/* Whatever happened, the devices are as they were (the driver
		 * core may take a moment to settle after a release: 5 s). */
		for (i = 0; i < 50; i++) {
			must_dump(&nl2, VFIO_RESERVE_CMD_DEVICE_GET, dev_line, &t);
			if (!strcmp(t.p ?: "", ref_devs.p ?: ""))
				break;
			usleep(100000);
		}
		if (strcmp(t.p ?: "", ref_devs.p ?: "")) {
			FAULT_VIOLATION("the device dump changed after fault %ld of %s", n, op);
			print_diff(&ref_devs, &t);
		}
		if (bad > 10 || left > 0) /* left > 0: no fault was injected */
			break;
	}
	close(nl2.fd);
	printf("# fault-nl %s: %lu runs (faults 1..%lu injected, then one without), "
	       "%lu failed cleanly, %lu succeeded, %lu answers lost, violations=%lu\n",
	       op, runs, left > 0 ? runs - 1 : runs, errs, oks, lost, bad);
	if (bind_failed)
		printf("# fault-nl %s: %lu claims succeeded with the override set but "
		       "vfio-pci's probe failing (an allocation in vfio)\n", op, bind_failed);
	printf("# fault-nl %s: errno:", op);
	for (i = 1; i < 140; i++)
		if (errhist[i])
			printf(" %s=%lu", i == 139 ? "other" : strerrorname_np(i) ?: "?",
			       errhist[i]);
	printf("\nFAULT-RESULT op=%s runs=%lu errors=%lu ok=%lu lost=%lu violations=%lu "
	       "finished=%d\n", op, runs, errs, oks, lost, bad, left > 0);
	return bad || left <= 0 ? 1 : 0;
}

static volatile sig_atomic_t stop_now;

static void on_stop(int sig)
{
	(void)sig;
	stop_now = 1;
}

/*
 * churn [-t SECONDS] [-i PAUSE_MS] ADDR...: until SIGTERM (or SECONDS), loop:
 * device and group dumps, then for each ADDR claim, get, release, then pause.
 * Every request must be answered (a dump completely, or with an error)
 * within 20 s.
 */
static int cmd_churn(int argc, char **argv)
{
	unsigned long loops = 0, reqs = 0, bad = 0, hist[3][140] = { { 0 } };
	double seconds = 0, t0 = now_s();
	unsigned long pause_ms = 0;
	struct text t = { 0 };
	struct nl nl;
	bool complete;
	int opt, i, e, ret;

	while ((opt = getopt(argc, argv, "t:i:")) != -1) {
		if (opt == 't')
			seconds = strtod(optarg, NULL);
		else if (opt == 'i')
			pause_ms = strtoul(optarg, NULL, 0);
		else
			die("churn [-t SECONDS] [-i PAUSE_MS] ADDR...");
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	open_family(&nl, 1 << 20);
	while (!stop_now && (!seconds || now_s() - t0 < seconds)) {
		ret = dump_text(&nl, VFIO_RESERVE_CMD_DEVICE_GET, dev_line, &t, &complete);
		reqs++;
		if (ret == -ETIMEDOUT || (!ret && !complete)) {
			bad++;
			printf("# VIOLATION: device dump: %s\n", ret ? "no answer in 20 s" : "no DONE");
		}
		ret = dump_text(&nl, VFIO_RESERVE_CMD_GROUP_GET, group_line, &t, &complete);
		reqs++;
		if (ret == -ETIMEDOUT || (!ret && !complete)) {
			bad++;
			printf("# VIOLATION: group dump: %s\n", ret ? "no answer in 20 s" : "no DONE");
		}
		for (i = optind; i < argc && !stop_now; i++) {
			static const uint8_t cmds[3] = { VFIO_RESERVE_CMD_DEVICE_CLAIM,
				VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_CMD_DEVICE_RELEASE };
			int k;

			for (k = 0; k < 3; k++) {
				ret = request(&nl, cmds[k], 0, VFIO_RESERVE_A_DEV_ADDR, argv[i],
					      strlen(argv[i]) + 1, NULL, NULL, NULL);
				reqs++;
				hist[k][-ret >= 0 && -ret < 139 ? -ret : 139]++;
				if (ret == -ETIMEDOUT) {
					bad++;
					printf("# VIOLATION: cmd %u %s: no answer in 20 s\n",
					       cmds[k], argv[i]);
				}
			}
		}
		loops++;
		if (bad > 10)
			break;
		if (pause_ms)
			usleep((useconds_t)pause_ms * 1000);
	}
	printf("# churn: %lu loops, %lu requests in %.0f s, violations=%lu\n", loops, reqs,
	       now_s() - t0, bad);
	for (i = 0; i < 3; i++) {
		printf("# churn: %s:", i == 0 ? "claim" : i == 1 ? "get" : "release");
		for (e = 0; e < 140; e++)
			if (hist[i][e])
				printf(" %s=%lu", e == 0 ? "ok" : e == 139 ? "other" : errname(-e),
				       hist[i][e]);
		printf("\n");
	}
	printf("CHURN-RESULT loops=%lu requests=%lu violations=%lu\n", loops, reqs, bad);
	return bad ? 1 : 0;
}

/*
 * listen: subscribe to the "events" group (and to nlctrl's notifications),
 * count events until the family is unregistered (exit 0) or SIGTERM.
 */
static int cmd_listen(void)
{
	uint32_t grp, ctrl = GENL_ID_CTRL;
	unsigned long events = 0;
	uint8_t *in = malloc(RCV_SIZE);
	struct nl nl;
	int gone = 0;

	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	open_family(&nl, 1 << 20);
	grp = events_group;
	if (!grp)
		die("no events group");
	if (setsockopt(nl.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) ||
	    setsockopt(nl.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &ctrl, sizeof(ctrl)))
		die("join groups: %s", strerror(errno));
	printf("listening\n");
	while (!stop_now && !gone) {
		ssize_t n = nl_recv(&nl, in, RCV_SIZE, 500);
		const struct nlmsghdr *h;

		if (n < 0 && n != -ENOBUFS && n != -EINTR)
			die("recv: %s", strerror((int)-n));
		for (h = (const void *)in; n > 0 && NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct genlmsghdr *g = NLMSG_DATA(h);

			if (h->nlmsg_type == nl.family && g->cmd == VFIO_RESERVE_CMD_EVENT)
				events++;
			if (h->nlmsg_type == GENL_ID_CTRL && g->cmd == CTRL_CMD_DELFAMILY) {
				struct attrs at;

				parse_attrs(h, &at);
				if (astr(&at, CTRL_ATTR_FAMILY_NAME) &&
				    !strcmp(astr(&at, CTRL_ATTR_FAMILY_NAME),
					    VFIO_RESERVE_FAMILY_NAME))
					gone = 1;
			}
		}
	}
	printf("events=%lu family_gone=%d\n", events, gone);
	return 0;
}

/*
 * family: is the family registered? A dump of nlctrl's families, because
 * asking for it by name makes the kernel load the module (its genl alias).
 */
static int cmd_family(void)
{
	uint8_t out[256], *in = malloc(RCV_SIZE);
	struct mb b = { out, 0, sizeof(out) };
	struct nl nl;
	size_t at;
	int found = 0, done = 0;

	if (!in || nl_open(&nl, 1 << 20))
		return 2;
	at = msg_start(&b, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 1, CTRL_CMD_GETFAMILY);
	msg_end(&b, at);
	if (nl_send(&nl, out, b.len))
		return 2;
	while (!done) {
		ssize_t n = nl_recv(&nl, in, RCV_SIZE, 10000);
		const struct nlmsghdr *h;

		if (n <= 0)
			return 2;
		for (h = (const void *)in; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct attrs at2;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			parse_attrs(h, &at2);
			if (astr(&at2, CTRL_ATTR_FAMILY_NAME) &&
			    !strcmp(astr(&at2, CTRL_ATTR_FAMILY_NAME), VFIO_RESERVE_FAMILY_NAME))
				found = 1;
		}
	}
	printf("%s\n", found ? "registered" : "absent");
	return found ? 0 : 1;
}

static int cmd_load_nth(int argc, char **argv)
{
	const char *params = argc > 3 ? argv[3] : "";
	long n = strtol(argv[1], NULL, 0), left = 0, calls = -1;
	int fd, ret;

	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", argv[2], strerror(errno));
	if (n < 0)
		set_fail_nth(1000000);	/* count the points: none fails */
	else if (n > 0)
		set_fail_nth(n);
	ret = (int)syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	if (n) {
		left = get_fail_nth();
		set_fail_nth(0);
	}
	if (n < 0)
		calls = 1000000 - left;
	printf("rc=%s consumed=%d calls=%ld\n", ret ? errname(ret) : "0",
	       n > 0 && left == 0, calls);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: fuzz|status|devices|rules|groups|cmd|fault-nl|load-nth|family ...");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "fuzz"))
		return cmd_fuzz(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fault-nl"))
		return cmd_fault_nl(argc - 1, argv + 1);
	if (!strcmp(argv[1], "load-nth")) {
		if (argc < 4)
			die("load-nth N KO [PARAMS]");
		return cmd_load_nth(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "churn"))
		return cmd_churn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "listen"))
		return cmd_listen();
	if (!strcmp(argv[1], "family"))
		return cmd_family();
	return cmd_simple(argc - 1, argv + 1);
}
