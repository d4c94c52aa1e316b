// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The vfio_reserve generic netlink family seen from user space, against
 * what sysfs says and what uapi/linux/vfio_reserve.h documents. Needs the
 * module loaded (tests skip when it is not).
 *
 *   vr_genl_test                   kselftest harness: every test; those
 *                                  that need CAP_NET_ADMIN skip without it
 *   vr_genl_test --unprivileged    the same, and insist on running without
 *                                  CAP_NET_ADMIN (under setpriv, say)
 *   vr_genl_test --list            the harness' tests, in the order they run
 *   vr_genl_test --events-expect KIND[:DRIVER],... --events-addr ADDR
 *                [--events-timeout S]
 *                                  listen on "events"; print "# listening"
 *                                  once subscribed; succeed when events of
 *                                  these kinds about ADDR arrive in this
 *                                  order (others in between are ignored)
 *   vr_genl_test --dump-loop S     dump every device again and again for S
 *                                  seconds; fail on a malformed message, an
 *                                  address out of order or repeated
 *   vr_genl_test --claim ADDR | --release ADDR | --device ADDR
 *   vr_genl_test --rule-add LIST | --rule-del LIST
 *                                  one command; the extack text on error,
 *                                  exit status 1
 *
 * Exit status: kselftest's (0 pass, 1 fail, 4 skip) for the harness, 0 or
 * 1 for the modes, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>

#include <linux/vfio_reserve.h>

#include "kselftest_harness.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define SYS_PCI		"/sys/bus/pci/devices"
#define SYS_GROUPS	"/sys/kernel/iommu_groups"
#define SYS_MODULE	"/sys/module/vfio_reserve"
#define NO_SUCH_ADDR	"0000:ff:1f.7"
#define SPARE_RULE	"dead:beef"
#define NOBODY		65534
#define CAP_NET_ADMIN_BIT 12

/* --- one request and its replies ------------------------------------------ */

struct vr_msg {
	uint8_t cmd;
	uint8_t version;
	uint16_t flags;
	int len;
	unsigned char *data;	/* the attributes */
};

struct vr_reply {
	struct vr_msg *msg;
	size_t n, cap;
	int error;		/* 0 or the kernel's -errno; -EPROTO/-EBADMSG ours */
	char ext[512];		/* NLMSGERR_ATTR_MSG, "" when none */
	bool has_miss;
	uint32_t miss_type;	/* NLMSGERR_ATTR_MISS_TYPE */
	bool has_offs;
	uint32_t offs;		/* NLMSGERR_ATTR_OFFS: the bad attribute */
	char why[256];		/* what went wrong on our side */
};

struct vr_nl {
	struct nl_sock *sk;
	int family;
};

struct vr_rx {
	struct vr_reply *rep;
	int family;
	uint32_t seq;
	bool done;
};

static void vr_reply_free(struct vr_reply *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		free(rep->msg[i].data);
	free(rep->msg);
	memset(rep, 0, sizeof(*rep));
}

/* More messages, or more seconds, than this: a dump that does not end. */
#define MAX_MSGS	16384
#define MAX_SECONDS	10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void vr_append(struct vr_reply *rep, const struct genlmsghdr *g,
		      uint16_t flags, const void *attrs, int len)
{
	struct vr_msg *m;

	if (rep->n == MAX_MSGS) {
		snprintf(rep->why, sizeof(rep->why),
			 "more than %d messages: the dump does not end", MAX_MSGS);
		rep->error = -E2BIG;
		return;
	}

	if (rep->n == rep->cap) {
		rep->cap = rep->cap ? rep->cap * 2 : 16;
		rep->msg = realloc(rep->msg, rep->cap * sizeof(*rep->msg));
		if (!rep->msg)
			abort();
	}
	m = &rep->msg[rep->n++];
	m->cmd = g->cmd;
	m->version = g->version;
	m->flags = flags;
	m->len = len;
	m->data = malloc(len ? len : 1);
	if (!m->data)
		abort();
	memcpy(m->data, attrs, len);
}

/* The extack TLVs after a struct nlmsgerr. */
static void vr_parse_extack(struct nlmsghdr *nlh, struct vr_reply *rep)
{
	struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = sizeof(*e);
	struct nlattr *a;
	int rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len > NLMSG_HDRLEN)
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	if (NLMSG_HDRLEN + off >= nlh->nlmsg_len)
		return;
	nla_for_each_attr(a, (struct nlattr *)((char *)e + off),
			  (int)(nlh->nlmsg_len - NLMSG_HDRLEN - off), rem) {
		switch (nla_type(a)) {
		case NLMSGERR_ATTR_MSG:
			snprintf(rep->ext, sizeof(rep->ext), "%.*s",
				 nla_len(a), (const char *)nla_data(a));
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			if (nla_len(a) == 4) {
				rep->has_miss = true;
				rep->miss_type = nla_get_u32(a);
			}
			break;
		case NLMSGERR_ATTR_OFFS:
			if (nla_len(a) == 4) {
				rep->has_offs = true;
				rep->offs = nla_get_u32(a);
			}
			break;
		}
	}
}

static int rx_seq(struct nl_msg *msg, void *arg)
{
	struct vr_rx *rx = arg;

	/* A late answer to an earlier request is not this one's. */
	return nlmsg_hdr(msg)->nlmsg_seq == rx->seq ? NL_OK : NL_SKIP;
}

static int rx_valid(struct nl_msg *msg, void *arg)
{
	struct vr_rx *rx = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *g;

	if (nlh->nlmsg_type != rx->family || !genlmsg_valid_hdr(nlh, 0)) {
		snprintf(rx->rep->why, sizeof(rx->rep->why),
			 "message of type %u, length %u", nlh->nlmsg_type,
			 nlh->nlmsg_len);
		rx->rep->error = -EBADMSG;
		return NL_SKIP;
	}
	g = nlmsg_data(nlh);
	vr_append(rx->rep, g, nlh->nlmsg_flags, genlmsg_attrdata(g, 0),
		  genlmsg_attrlen(g, 0));
	return rx->rep->error == -E2BIG ? NL_STOP : NL_OK;
}

static int rx_finish(struct nl_msg *msg, void *arg)
{
	struct vr_rx *rx = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int err;

	/* NLMSG_DONE of a dump carries its status. */
	if (nlmsg_datalen(nlh) >= (int)sizeof(int)) {
		memcpy(&err, nlmsg_data(nlh), sizeof(err));
		if (err < 0 && !rx->rep->error)
			rx->rep->error = err;
	}
	rx->done = true;
	return NL_STOP;
}

static int rx_ack(struct nl_msg *msg, void *arg)
{
	struct vr_rx *rx = arg;

	(void)msg;
	rx->done = true;
	return NL_STOP;
}

static int rx_err(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct vr_rx *rx = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);

	(void)nla;
	if (nlh->nlmsg_seq != rx->seq)
		return NL_SKIP;
	rx->rep->error = e->error;
	vr_parse_extack(nlh, rx->rep);
	rx->done = true;
	return NL_STOP;
}

/* A socket with extended acks, and the family's id: 0, -ENOENT or -EPROTO. */
static int vr_open(struct vr_nl *nl)
{
	struct timeval tv = { .tv_sec = 10 };
	int one = 1, ret;

	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	if (genl_connect(nl->sk) < 0) {
		ret = -EPROTO;
		goto fail;
	}
	nl_socket_enable_msg_peek(nl->sk);
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	nl->family = genl_ctrl_resolve(nl->sk, VFIO_RESERVE_FAMILY_NAME);
	if (nl->family < 0) {
		ret = nl->family == -NLE_OBJ_NOTFOUND ? -ENOENT : -EPROTO;
		goto fail;
	}
	return 0;
fail:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return ret;
}

static void vr_close(struct vr_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

static struct nl_msg *vr_new(const struct vr_nl *nl, uint8_t cmd, int flags,
			     size_t size)
{
	struct nl_msg *msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();

	if (!msg)
		abort();
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags,
			 cmd, VFIO_RESERVE_FAMILY_VERSION))
		abort();
	return msg;
}

/* Send @req (consumed) and collect what answers it. Returns rep->error. */
static int vr_xfer(struct vr_nl *nl, struct nl_msg *req, struct vr_reply *rep)
{
	struct vr_rx rx = { .rep = rep, .family = nl->family };
	double start = now_s();
	struct nl_cb *cb, *orig;
	int ret;

	memset(rep, 0, sizeof(*rep));
	ret = nl_send_auto(nl->sk, req);
	rx.seq = nlmsg_hdr(req)->nlmsg_seq;
	nlmsg_free(req);
	if (ret < 0) {
		snprintf(rep->why, sizeof(rep->why), "send: %s", nl_geterror(ret));
		return rep->error = -EPROTO;
	}
	orig = nl_socket_get_cb(nl->sk);	/* a reference */
	cb = nl_cb_clone(orig);
	nl_cb_put(orig);
	if (!cb)
		abort();
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, rx_seq, &rx);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, rx_valid, &rx);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, rx_finish, &rx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, rx_ack, &rx);
	nl_cb_err(cb, NL_CB_CUSTOM, rx_err, &rx);
	while (!rx.done && rep->error != -E2BIG) {
		if (now_s() > start + MAX_SECONDS) {
			snprintf(rep->why, sizeof(rep->why),
				 "no end after %d s", MAX_SECONDS);
			rep->error = -ETIMEDOUT;
			break;
		}
		ret = nl_recvmsgs(nl->sk, cb);
		if (ret < 0 && !rx.done) {
			snprintf(rep->why, sizeof(rep->why), "receive: %s",
				 nl_geterror(ret));
			rep->error = -EPROTO;
			break;
		}
	}
	nl_cb_put(cb);
	return rep->error;
}

static int vr_dump(struct vr_nl *nl, uint8_t cmd, struct vr_reply *rep)
{
	return vr_xfer(nl, vr_new(nl, cmd, NLM_F_DUMP, 0), rep);
}

static int vr_do_str(struct vr_nl *nl, uint8_t cmd, int type, const char *s,
		     struct vr_reply *rep)
{
	struct nl_msg *msg = vr_new(nl, cmd, 0, strlen(s) + 1024);

	if (nla_put_string(msg, type, s) < 0)
		abort();
	return vr_xfer(nl, msg, rep);
}

static int vr_do_u32(struct vr_nl *nl, uint8_t cmd, int type, uint32_t v,
		     struct vr_reply *rep)
{
	struct nl_msg *msg = vr_new(nl, cmd, 0, 0);

	if (nla_put_u32(msg, type, v) < 0)
		abort();
	return vr_xfer(nl, msg, rep);
}

static int vr_do_raw(struct vr_nl *nl, uint8_t cmd, int type, const void *data,
		     int len, struct vr_reply *rep)
{
	struct nl_msg *msg = vr_new(nl, cmd, 0, len + 1024);

	if (type && nla_put(msg, type, len, data) < 0)
		abort();
	return vr_xfer(nl, msg, rep);
}

/* --- parsing replies strictly -------------------------------------------- */

enum vr_type { T_NONE, T_U8, T_U16, T_U32, T_STR, T_NEST };

static const enum vr_type status_types[VFIO_RESERVE_A_STATUS_MAX + 1] = {
	[VFIO_RESERVE_A_STATUS_VERSION] = T_STR,
	[VFIO_RESERVE_A_STATUS_IOMMU] = T_U8,
	[VFIO_RESERVE_A_STATUS_INTR_REMAP] = T_U8,
	[VFIO_RESERVE_A_STATUS_RECLAIM] = T_STR,
	[VFIO_RESERVE_A_STATUS_DRY_RUN] = T_U8,
	[VFIO_RESERVE_A_STATUS_RULES] = T_U32,
	[VFIO_RESERVE_A_STATUS_RESERVED] = T_U32,
	[VFIO_RESERVE_A_STATUS_PENDING] = T_U32,
	[VFIO_RESERVE_A_STATUS_CONFIG_ERROR] = T_STR,
	[VFIO_RESERVE_A_STATUS_TARGET_FAILED] = T_U32,
};

static const enum vr_type dev_types[VFIO_RESERVE_A_DEV_MAX + 1] = {
	[VFIO_RESERVE_A_DEV_ADDR] = T_STR,
	[VFIO_RESERVE_A_DEV_VENDOR] = T_U16,
	[VFIO_RESERVE_A_DEV_DEVICE] = T_U16,
	[VFIO_RESERVE_A_DEV_SUBVENDOR] = T_U16,
	[VFIO_RESERVE_A_DEV_SUBDEVICE] = T_U16,
	[VFIO_RESERVE_A_DEV_CLASS] = T_U32,
	[VFIO_RESERVE_A_DEV_DRIVER] = T_STR,
	[VFIO_RESERVE_A_DEV_OVERRIDE] = T_STR,
	[VFIO_RESERVE_A_DEV_STATE] = T_U8,
	[VFIO_RESERVE_A_DEV_RULE] = T_STR,
	[VFIO_RESERVE_A_DEV_PREV_DRIVER] = T_STR,
	[VFIO_RESERVE_A_DEV_IOMMU_GROUP] = T_U32,
	[VFIO_RESERVE_A_DEV_INTR_REMAP] = T_U8,
	[VFIO_RESERVE_A_DEV_IN_USE] = T_U8,
	[VFIO_RESERVE_A_DEV_RESET_METHODS] = T_STR,
	[VFIO_RESERVE_A_DEV_BRIDGE] = T_U8,
	[VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS] = T_U16,
	[VFIO_RESERVE_A_DEV_SRIOV_NUMVFS] = T_U16,
	[VFIO_RESERVE_A_DEV_PF_ADDR] = T_STR,
	[VFIO_RESERVE_A_DEV_TARGET] = T_STR,
	[VFIO_RESERVE_A_DEV_TARGET_ERROR] = T_U8,
	[VFIO_RESERVE_A_DEV_VFIO_CDEV] = T_STR,
	[VFIO_RESERVE_A_DEV_VFIO_OPEN] = T_U8,
	[VFIO_RESERVE_A_DEV_MSI_ISOLATED] = T_U8,
};

static const enum vr_type group_types[VFIO_RESERVE_A_GROUP_MAX + 1] = {
	[VFIO_RESERVE_A_GROUP_ID] = T_U32,
	[VFIO_RESERVE_A_GROUP_VIABLE] = T_U8,
	[VFIO_RESERVE_A_GROUP_IN_USE] = T_U8,
	[VFIO_RESERVE_A_GROUP_MEMBER] = T_NEST,
};

static const enum vr_type member_types[VFIO_RESERVE_A_MEMBER_MAX + 1] = {
	[VFIO_RESERVE_A_MEMBER_ADDR] = T_STR,
	[VFIO_RESERVE_A_MEMBER_DRIVER] = T_STR,
	[VFIO_RESERVE_A_MEMBER_BLOCKS] = T_U8,
};

static const enum vr_type rule_types[VFIO_RESERVE_A_RULE_MAX + 1] = {
	[VFIO_RESERVE_A_RULE_SELECTOR] = T_STR,
	[VFIO_RESERVE_A_RULE_ORIGIN] = T_U8,
	[VFIO_RESERVE_A_RULE_COUNT] = T_U32,
	[VFIO_RESERVE_A_RULE_SELECTOR_LIST] = T_STR,
};

static const enum vr_type event_types[VFIO_RESERVE_A_EVENT_MAX + 1] = {
	[VFIO_RESERVE_A_EVENT_KIND] = T_U8,
	[VFIO_RESERVE_A_EVENT_ADDR] = T_STR,
	[VFIO_RESERVE_A_EVENT_DRIVER] = T_STR,
	[VFIO_RESERVE_A_EVENT_RULE] = T_STR,
};

/*
 * Fill tb[0..max] from a stream of attributes. Refuses an unknown type, a
 * scalar of the wrong size, a string without its NUL (or with one inside),
 * trailing bytes, and a repeated attribute other than @multi.
 */
static int vr_parse(const void *data, int len, const enum vr_type *types,
		    int max, int multi, struct nlattr **tb, char *why,
		    size_t whylen)
{
	static const int size[] = { [T_U8] = 1, [T_U16] = 2, [T_U32] = 4 };
	struct nlattr *a;
	int rem, type, alen;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	nla_for_each_attr(a, (struct nlattr *)data, len, rem) {
		type = nla_type(a);
		alen = nla_len(a);
		if (type < 1 || type > max || types[type] == T_NONE) {
			snprintf(why, whylen, "unknown attribute %d", type);
			return -1;
		}
		if (tb[type] && type != multi) {
			snprintf(why, whylen, "attribute %d twice", type);
			return -1;
		}
		switch (types[type]) {
		case T_U8:
		case T_U16:
		case T_U32:
			if (alen != size[types[type]]) {
				snprintf(why, whylen, "attribute %d: %d bytes",
					 type, alen);
				return -1;
			}
			break;
		case T_STR:
			if (alen < 1 || ((char *)nla_data(a))[alen - 1] ||
			    strlen(nla_data(a)) != (size_t)alen - 1) {
				snprintf(why, whylen,
					 "attribute %d: not a NUL terminated string",
					 type);
				return -1;
			}
			break;
		default:
			break;
		}
		if (!tb[type])
			tb[type] = a;
	}
	if (rem) {
		snprintf(why, whylen, "%d trailing bytes", rem);
		return -1;
	}
	return 0;
}

/* For EXPECT_STREQ, which must not see NULL. */
static const char *str_or_null(const char *s)
{
	return s ? s : "(absent)";
}

static const char *str_or(const struct nlattr *a, const char *none)
{
	return a ? (const char *)nla_data(a) : none;
}

/* "dddd:bb:ss.f" (a domain of 4 to 8 digits) to a sort key, or -1. */
static int64_t addr_key(const char *s)
{
	unsigned int d, b, sl, f;
	size_t len = strlen(s);
	char end, canon[VFIO_RESERVE_ADDR_SIZE];

	if (len < 12 || len >= sizeof(canon) ||
	    sscanf(s, "%8x:%2x:%2x.%1x%c", &d, &b, &sl, &f, &end) != 4 ||
	    sl > 0x1f || f > 7)
		return -1;
	snprintf(canon, sizeof(canon), "%04x:%02x:%02x.%x", d, b, sl, f);
	if (strcmp(canon, s))
		return -1;
	return ((int64_t)d << 16) | (b << 8) | (sl << 3) | f;
}

struct vr_dev {
	const struct vr_msg *msg;
	const char *addr, *driver, *override, *rule, *prev_driver, *reset;
	const char *pf_addr, *target;
	int64_t key;
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class;
	uint8_t state, intr_remap, in_use, bridge, target_err;
	bool has_group, is_pf;
	uint32_t group;
	uint16_t totalvfs, numvfs;
};

static int vr_dev_parse(const struct vr_msg *m, struct vr_dev *d, char *why,
			size_t whylen)
{
	static const int required[] = {
		VFIO_RESERVE_A_DEV_ADDR, VFIO_RESERVE_A_DEV_VENDOR,
		VFIO_RESERVE_A_DEV_DEVICE, VFIO_RESERVE_A_DEV_SUBVENDOR,
		VFIO_RESERVE_A_DEV_SUBDEVICE, VFIO_RESERVE_A_DEV_CLASS,
		VFIO_RESERVE_A_DEV_STATE, VFIO_RESERVE_A_DEV_INTR_REMAP,
		VFIO_RESERVE_A_DEV_IN_USE, VFIO_RESERVE_A_DEV_RESET_METHODS,
		VFIO_RESERVE_A_DEV_BRIDGE,
	};
	struct nlattr *tb[VFIO_RESERVE_A_DEV_MAX + 1];
	size_t i;

	memset(d, 0, sizeof(*d));
	if (vr_parse(m->data, m->len, dev_types, VFIO_RESERVE_A_DEV_MAX, 0, tb,
		     why, whylen))
		return -1;
	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (!tb[required[i]]) {
			snprintf(why, whylen, "no attribute %d", required[i]);
			return -1;
		}
	}
	if (!tb[VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS] !=
	    !tb[VFIO_RESERVE_A_DEV_SRIOV_NUMVFS]) {
		snprintf(why, whylen, "SRIOV_TOTALVFS without SRIOV_NUMVFS");
		return -1;
	}
	d->msg = m;
	d->addr = nla_data(tb[VFIO_RESERVE_A_DEV_ADDR]);
	d->key = addr_key(d->addr);
	d->vendor = nla_get_u16(tb[VFIO_RESERVE_A_DEV_VENDOR]);
	d->device = nla_get_u16(tb[VFIO_RESERVE_A_DEV_DEVICE]);
	d->subvendor = nla_get_u16(tb[VFIO_RESERVE_A_DEV_SUBVENDOR]);
	d->subdevice = nla_get_u16(tb[VFIO_RESERVE_A_DEV_SUBDEVICE]);
	d->class = nla_get_u32(tb[VFIO_RESERVE_A_DEV_CLASS]);
	d->state = nla_get_u8(tb[VFIO_RESERVE_A_DEV_STATE]);
	d->driver = str_or(tb[VFIO_RESERVE_A_DEV_DRIVER], NULL);
	d->override = str_or(tb[VFIO_RESERVE_A_DEV_OVERRIDE], NULL);
	d->rule = str_or(tb[VFIO_RESERVE_A_DEV_RULE], NULL);
	d->prev_driver = str_or(tb[VFIO_RESERVE_A_DEV_PREV_DRIVER], NULL);
	d->reset = str_or(tb[VFIO_RESERVE_A_DEV_RESET_METHODS], NULL);
	d->pf_addr = str_or(tb[VFIO_RESERVE_A_DEV_PF_ADDR], NULL);
	d->target = str_or(tb[VFIO_RESERVE_A_DEV_TARGET], NULL);
	if (tb[VFIO_RESERVE_A_DEV_TARGET_ERROR])
		d->target_err = nla_get_u8(tb[VFIO_RESERVE_A_DEV_TARGET_ERROR]);
	d->has_group = tb[VFIO_RESERVE_A_DEV_IOMMU_GROUP];
	if (d->has_group)
		d->group = nla_get_u32(tb[VFIO_RESERVE_A_DEV_IOMMU_GROUP]);
	d->intr_remap = nla_get_u8(tb[VFIO_RESERVE_A_DEV_INTR_REMAP]);
	d->in_use = nla_get_u8(tb[VFIO_RESERVE_A_DEV_IN_USE]);
	d->bridge = nla_get_u8(tb[VFIO_RESERVE_A_DEV_BRIDGE]);
	d->is_pf = tb[VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS];
	if (d->is_pf) {
		d->totalvfs = nla_get_u16(tb[VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS]);
		d->numvfs = nla_get_u16(tb[VFIO_RESERVE_A_DEV_SRIOV_NUMVFS]);
	}
	if (d->key < 0) {
		snprintf(why, whylen, "bad address \"%s\"", d->addr);
		return -1;
	}
	if (d->pf_addr && addr_key(d->pf_addr) < 0) {
		snprintf(why, whylen, "bad PF address \"%s\"", d->pf_addr);
		return -1;
	}
	if (d->state > VFIO_RESERVE_STATE_PENDING || d->intr_remap > 1 ||
	    d->in_use > 1 || d->bridge > 1 || d->class > 0xffffff) {
		snprintf(why, whylen, "%s: value out of range", d->addr);
		return -1;
	}
	return 0;
}

/* Every message of a device dump, parsed and in strictly increasing order. */
static int vr_devs_parse(const struct vr_reply *rep, struct vr_dev **out,
			 char *why, size_t whylen)
{
	struct vr_dev *d = calloc(rep->n ? rep->n : 1, sizeof(*d));
	size_t i;
	int n;

	if (!d)
		abort();
	for (i = 0; i < rep->n; i++) {
		if (rep->msg[i].cmd != VFIO_RESERVE_CMD_DEVICE_GET) {
			snprintf(why, whylen, "message %zu: command %u", i,
				 rep->msg[i].cmd);
			goto fail;
		}
		n = snprintf(why, whylen, "message %zu: ", i);
		if (vr_dev_parse(&rep->msg[i], &d[i], why + n, whylen - n))
			goto fail;
		if (i && d[i].key <= d[i - 1].key) {
			snprintf(why, whylen, "%s after %s", d[i].addr,
				 d[i - 1].addr);
			goto fail;
		}
	}
	why[0] = '\0';
	*out = d;
	return (int)rep->n;
fail:
	free(d);
	*out = NULL;
	return -1;
}

struct vr_member {
	const char *addr, *driver;
	uint8_t blocks;
};

struct vr_group {
	uint32_t id;
	uint8_t viable, in_use;
	int n;
	struct vr_member member[1024];	/* 257 in 27-big-group */
};

static int vr_group_parse(const struct vr_msg *m, struct vr_group *g,
			  char *why, size_t whylen)
{
	struct nlattr *tb[VFIO_RESERVE_A_GROUP_MAX + 1];
	struct nlattr *mt[VFIO_RESERVE_A_MEMBER_MAX + 1];
	struct nlattr *a;
	int rem;

	memset(g, 0, sizeof(*g));
	if (m->cmd != VFIO_RESERVE_CMD_GROUP_GET) {
		snprintf(why, whylen, "command %u", m->cmd);
		return -1;
	}
	if (vr_parse(m->data, m->len, group_types, VFIO_RESERVE_A_GROUP_MAX,
		     VFIO_RESERVE_A_GROUP_MEMBER, tb, why, whylen))
		return -1;
	if (!tb[VFIO_RESERVE_A_GROUP_ID] || !tb[VFIO_RESERVE_A_GROUP_VIABLE] ||
	    !tb[VFIO_RESERVE_A_GROUP_IN_USE] || !tb[VFIO_RESERVE_A_GROUP_MEMBER]) {
		snprintf(why, whylen, "ID, VIABLE, IN_USE or MEMBER missing");
		return -1;
	}
	g->id = nla_get_u32(tb[VFIO_RESERVE_A_GROUP_ID]);
	g->viable = nla_get_u8(tb[VFIO_RESERVE_A_GROUP_VIABLE]);
	g->in_use = nla_get_u8(tb[VFIO_RESERVE_A_GROUP_IN_USE]);
	nla_for_each_attr(a, (struct nlattr *)m->data, m->len, rem) {
		if (nla_type(a) != VFIO_RESERVE_A_GROUP_MEMBER)
			continue;
		if (g->n == (int)ARRAY_SIZE(g->member)) {
			snprintf(why, whylen, "group %u: too many members", g->id);
			return -1;
		}
		if (vr_parse(nla_data(a), nla_len(a), member_types,
			     VFIO_RESERVE_A_MEMBER_MAX, 0, mt, why, whylen))
			return -1;
		if (!mt[VFIO_RESERVE_A_MEMBER_ADDR] ||
		    !mt[VFIO_RESERVE_A_MEMBER_BLOCKS]) {
			snprintf(why, whylen, "group %u: member without ADDR or BLOCKS",
				 g->id);
			return -1;
		}
		g->member[g->n].addr = nla_data(mt[VFIO_RESERVE_A_MEMBER_ADDR]);
		g->member[g->n].driver = str_or(mt[VFIO_RESERVE_A_MEMBER_DRIVER], NULL);
		g->member[g->n].blocks = nla_get_u8(mt[VFIO_RESERVE_A_MEMBER_BLOCKS]);
		if (addr_key(g->member[g->n].addr) < 0 ||
		    g->member[g->n].blocks > 1) {
			snprintf(why, whylen, "group %u: bad member", g->id);
			return -1;
		}
		g->n++;
	}
	if (g->viable > 1 || g->in_use > 1) {
		snprintf(why, whylen, "group %u: value out of range", g->id);
		return -1;
	}
	return 0;
}

struct vr_rule {
	const char *selector;
	uint8_t origin;
};

static int vr_rules_parse(const struct vr_reply *rep, struct vr_rule *r,
			  int max, char *why, size_t whylen)
{
	struct nlattr *tb[VFIO_RESERVE_A_RULE_MAX + 1];
	size_t i;

	for (i = 0; i < rep->n; i++) {
		if ((int)i == max) {
			snprintf(why, whylen, "more than %d rules", max);
			return -1;
		}
		if (rep->msg[i].cmd != VFIO_RESERVE_CMD_RULE_GET ||
		    vr_parse(rep->msg[i].data, rep->msg[i].len, rule_types,
			     VFIO_RESERVE_A_RULE_MAX, 0, tb, why, whylen))
			return -1;
		if (!tb[VFIO_RESERVE_A_RULE_SELECTOR] ||
		    !tb[VFIO_RESERVE_A_RULE_ORIGIN] ||
		    tb[VFIO_RESERVE_A_RULE_COUNT]) {
			snprintf(why, whylen, "rule %zu: wrong attributes", i);
			return -1;
		}
		r[i].selector = nla_data(tb[VFIO_RESERVE_A_RULE_SELECTOR]);
		r[i].origin = nla_get_u8(tb[VFIO_RESERVE_A_RULE_ORIGIN]);
		if (r[i].origin != VFIO_RESERVE_ORIGIN_PARAM &&
		    r[i].origin != VFIO_RESERVE_ORIGIN_USER) {
			snprintf(why, whylen, "rule %zu: origin %u", i, r[i].origin);
			return -1;
		}
	}
	return (int)rep->n;
}

/* The COUNT of a RULE_ADD/RULE_DEL reply, or -1. */
static int vr_rule_count(const struct vr_reply *rep)
{
	struct nlattr *tb[VFIO_RESERVE_A_RULE_MAX + 1];
	char why[128];

	if (rep->n != 1 ||
	    vr_parse(rep->msg[0].data, rep->msg[0].len, rule_types,
		     VFIO_RESERVE_A_RULE_MAX, 0, tb, why, sizeof(why)) ||
	    !tb[VFIO_RESERVE_A_RULE_COUNT])
		return -1;
	return (int)nla_get_u32(tb[VFIO_RESERVE_A_RULE_COUNT]);
}

struct vr_status {
	const char *version, *reclaim, *config_error;
	uint8_t iommu, intr_remap, dry_run;
	uint32_t rules, reserved, pending, target_failed;
};

static int vr_status_parse(const struct vr_reply *rep, struct vr_status *s,
			   char *why, size_t whylen)
{
	struct nlattr *tb[VFIO_RESERVE_A_STATUS_MAX + 1];
	int i;

	if (rep->n != 1) {
		snprintf(why, whylen, "%zu replies", rep->n);
		return -1;
	}
	if (rep->msg[0].cmd != VFIO_RESERVE_CMD_STATUS_GET) {
		snprintf(why, whylen, "reply command %u", rep->msg[0].cmd);
		return -1;
	}
	if (vr_parse(rep->msg[0].data, rep->msg[0].len, status_types,
		     VFIO_RESERVE_A_STATUS_MAX, 0, tb, why, whylen))
		return -1;
	for (i = VFIO_RESERVE_A_STATUS_VERSION; i <= VFIO_RESERVE_A_STATUS_TARGET_FAILED; i++) {
		if (!tb[i] && i != VFIO_RESERVE_A_STATUS_CONFIG_ERROR) {
			snprintf(why, whylen, "no attribute %d", i);
			return -1;
		}
	}
	s->version = nla_data(tb[VFIO_RESERVE_A_STATUS_VERSION]);
	s->reclaim = nla_data(tb[VFIO_RESERVE_A_STATUS_RECLAIM]);
	s->config_error = str_or(tb[VFIO_RESERVE_A_STATUS_CONFIG_ERROR], NULL);
	s->iommu = nla_get_u8(tb[VFIO_RESERVE_A_STATUS_IOMMU]);
	s->intr_remap = nla_get_u8(tb[VFIO_RESERVE_A_STATUS_INTR_REMAP]);
	s->dry_run = nla_get_u8(tb[VFIO_RESERVE_A_STATUS_DRY_RUN]);
	s->rules = nla_get_u32(tb[VFIO_RESERVE_A_STATUS_RULES]);
	s->reserved = nla_get_u32(tb[VFIO_RESERVE_A_STATUS_RESERVED]);
	s->pending = nla_get_u32(tb[VFIO_RESERVE_A_STATUS_PENDING]);
	s->target_failed = nla_get_u32(tb[VFIO_RESERVE_A_STATUS_TARGET_FAILED]);
	return 0;
}

/* --- sysfs and /proc ------------------------------------------------------- */

/* @dir/@name into @buf, which is large enough for sysfs paths. */
static void join(char *buf, size_t size, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		abort();
}

/* The first line of @path without its newline; 0 or -errno. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t len;

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f)) {
		buf[0] = '\0';
		if (ferror(f)) {
			int err = errno ? -errno : -EIO;

			fclose(f);
			return err;
		}
	}
	fclose(f);
	len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return 0;
}

static int read_hex(const char *dir, const char *name, unsigned long *v)
{
	char path[PATH_MAX], buf[64], *end;
	int ret;

	join(path, sizeof(path), dir, name);
	ret = read_line(path, buf, sizeof(buf));
	if (ret)
		return ret;
	errno = 0;
	*v = strtoul(buf, &end, 0);
	return errno || end == buf ? -EINVAL : 0;
}

/* The basename of the symlink @dir/@name; 0 or -errno. */
static int link_base(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	char *slash;

	join(path, sizeof(path), dir, name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	slash = strrchr(target, '/');
	if (snprintf(buf, size, "%s", slash ? slash + 1 : target) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The PCI addresses among the names in @dir, sorted; their number or -errno. */
static int list_pci(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	int n = 0;

	*out = NULL;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (addr_key(e->d_name) < 0)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		if (!v)
			abort();
		v[n] = strdup(e->d_name);
		if (!v[n])
			abort();
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

static void free_list(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool file_contains(const char *path, const char *text)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text);
	fclose(f);
	return found;
}

/* Does any PCI function have an IOMMU group (sysfs' view)? */
static bool sys_iommu(void)
{
	char **addrs, dir[PATH_MAX], grp[32];
	int n = list_pci(SYS_PCI, &addrs), i;
	bool found = false;

	for (i = 0; i < n && !found; i++) {
		snprintf(dir, sizeof(dir), SYS_PCI "/%s", addrs[i]);
		found = !link_base(dir, "iommu_group", grp, sizeof(grp));
	}
	free_list(addrs, n);
	return found;
}

/* Interrupt remapping in use: the kernel names its irq chips IR-... */
static bool sys_intr_remap(void)
{
	return file_contains("/proc/interrupts", "IR-");
}

static bool has_cap_net_admin(void)
{
	char line[256];
	unsigned long long eff;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = eff & (1ULL << CAP_NET_ADMIN_BIT);
			break;
		}
	}
	fclose(f);
	return found;
}

/*
 * Does the driver bound to the device in @dir manage DMA itself, leaving
 * its IOMMU group viable? A VFIO driver (vfio-pci or any variant) says so
 * in sysfs: it registers a VFIO device, the vfio-dev/ directory. pci-stub
 * and pcieport set driver_managed_dma too, which sysfs does not show.
 */
static bool bound_to_dma_managing(const char *dir, const char *drv)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/vfio-dev", dir);
	return !access(path, F_OK) || !strcmp(drv, "pci-stub") ||
	       !strcmp(drv, "pcieport");
}

/* --- the fixture ------------------------------------------------------------ */

FIXTURE(genl) {
	struct vr_nl nl;
	char skip[128];
};

FIXTURE_SETUP(genl)
{
	int ret = vr_open(&self->nl);

	/* A SKIP here would not stop the test: each test checks self->skip. */
	if (ret == -ENOENT && access(SYS_MODULE, F_OK))
		snprintf(self->skip, sizeof(self->skip),
			 "the vfio_reserve module is not loaded");
	else
		ASSERT_EQ(0, ret) TH_LOG("cannot resolve family %s: %s",
					 VFIO_RESERVE_FAMILY_NAME, strerror(-ret));
}

FIXTURE_TEARDOWN(genl)
{
	vr_close(&self->nl);
}

#define NEED_FAMILY() do { \
	if (self->skip[0]) \
		SKIP(return, "%s", self->skip); \
} while (0)

#define NEED_ADMIN() do { \
	NEED_FAMILY(); \
	if (!has_cap_net_admin()) \
		SKIP(return, "needs CAP_NET_ADMIN (run as root)"); \
} while (0)

/* What the kernel answered, for TH_LOG. */
/*
 * Formatted extack messages (NL_SET_ERR_MSG_FMT) came with 6.2; before,
 * the module answers a bad list with one fixed message. By version here,
 * as the test must know what to expect: a 6.1 with them backported fails
 * this test, which is then told which kernel it runs on.
 */
static bool kernel_formats_extack(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return true;
	return major > 6 || (major == 6 && minor >= 2);
}

/* The only attribute of a request: right after the two headers. */
#define FIRST_ATTR_OFFS (NLMSG_HDRLEN + GENL_HDRLEN)

#define REP_FMT(rep) "got %d (%s), extack \"%s\" %s", (rep)->error, \
	strerror(-(rep)->error), (rep)->ext, (rep)->why

/* The request failed with @err; show what the kernel said. */
#define EXPECT_ERR(err, rep) do { \
	EXPECT_EQ(err, (rep)->error) TH_LOG(REP_FMT(rep)); \
} while (0)

#define EXPECT_OK(rep) do { \
	EXPECT_EQ(0, (rep)->error) TH_LOG(REP_FMT(rep)); \
} while (0)

#define ASSERT_OK(rep) do { \
	ASSERT_EQ(0, (rep)->error) TH_LOG(REP_FMT(rep)); \
} while (0)

static void get_status(struct __test_metadata *_metadata, struct vr_nl *nl,
		       struct vr_reply *rep, struct vr_status *s)
{
	char why[256] = "";

	vr_xfer(nl, vr_new(nl, VFIO_RESERVE_CMD_STATUS_GET, 0, 0), rep);
	ASSERT_OK(rep);
	ASSERT_EQ(0, vr_status_parse(rep, s, why, sizeof(why))) TH_LOG("%s", why);
}

/* After a refused request the family still answers. */
static void still_answers(struct __test_metadata *_metadata, struct vr_nl *nl)
{
	struct vr_reply rep;
	struct vr_status s;

	get_status(_metadata, nl, &rep, &s);
	vr_reply_free(&rep);
}

static int dump_devs(struct __test_metadata *_metadata, struct vr_nl *nl,
		     struct vr_reply *rep, struct vr_dev **devs)
{
	char why[256] = "";
	int n;

	vr_dump(nl, VFIO_RESERVE_CMD_DEVICE_GET, rep);
	ASSERT_OK(rep);
	n = vr_devs_parse(rep, devs, why, sizeof(why));
	ASSERT_LE(0, n) TH_LOG("device dump: %s", why);
	return n;
}

static int dump_rules(struct __test_metadata *_metadata, struct vr_nl *nl,
		      struct vr_reply *rep, struct vr_rule *r, int max)
{
	char why[256] = "";
	int n;

	vr_dump(nl, VFIO_RESERVE_CMD_RULE_GET, rep);
	ASSERT_OK(rep);
	n = vr_rules_parse(rep, r, max, why, sizeof(why));
	ASSERT_LE(0, n) TH_LOG("rule dump: %s", why);
	return n;
}

static bool rules_have(const struct vr_rule *r, int n, const char *sel,
		       uint8_t *origin)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!strcmp(r[i].selector, sel)) {
			if (origin)
				*origin = r[i].origin;
			return true;
		}
	}
	return false;
}

static bool same_msgs(const struct vr_reply *a, const struct vr_reply *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->msg[i].len != b->msg[i].len ||
		    memcmp(a->msg[i].data, b->msg[i].data, a->msg[i].len))
			return false;
	return true;
}

/* --- the tests ---------------------------------------------------------------- */

TEST_F(genl, resolve_family_and_events_group)
{
	struct genl_family *fam = NULL;
	struct nl_cache *cache = NULL;
	int grp;

	NEED_FAMILY();
	EXPECT_LT(0, self->nl.family);
	grp = genl_ctrl_resolve_grp(self->nl.sk, VFIO_RESERVE_FAMILY_NAME,
				    VFIO_RESERVE_MCGRP_EVENTS);
	EXPECT_LT(0, grp) TH_LOG("group \"%s\": %s", VFIO_RESERVE_MCGRP_EVENTS,
				 nl_geterror(grp));
	/* The family as the controller lists it: its version. */
	ASSERT_EQ(0, genl_ctrl_alloc_cache(self->nl.sk, &cache));
	fam = genl_ctrl_search_by_name(cache, VFIO_RESERVE_FAMILY_NAME);
	ASSERT_NE(NULL, fam);
	EXPECT_EQ(VFIO_RESERVE_FAMILY_VERSION, (int)genl_family_get_version(fam));
	EXPECT_EQ(self->nl.family, genl_family_get_id(fam));
	genl_family_put(fam);
	nl_cache_free(cache);
}

TEST_F(genl, status_matches_the_dumps)
{
	struct vr_reply st, dev, rules;
	struct vr_status s;
	struct vr_rule r[256];
	struct vr_dev *d;
	char buf[256];
	int n, nr, i, reserved = 0, pending = 0, target_failed = 0;

	NEED_FAMILY();
	get_status(_metadata, &self->nl, &st, &s);
	n = dump_devs(_metadata, &self->nl, &dev, &d);
	nr = dump_rules(_metadata, &self->nl, &rules, r, 256);
	for (i = 0; i < n; i++) {
		reserved += d[i].state == VFIO_RESERVE_STATE_RESERVED;
		pending += d[i].state == VFIO_RESERVE_STATE_PENDING;
		target_failed += d[i].target_err != 0;
	}
	EXPECT_NE(0, strlen(s.version));
	if (!read_line(SYS_MODULE "/version", buf, sizeof(buf)))
		EXPECT_STREQ(buf, s.version);
	EXPECT_EQ(sys_iommu(), s.iommu);
	EXPECT_EQ(sys_iommu() && sys_intr_remap(), s.intr_remap);
	EXPECT_TRUE(!strcmp(s.reclaim, "none") || !strcmp(s.reclaim, "stub") ||
		    !strcmp(s.reclaim, "all")) TH_LOG("reclaim \"%s\"", s.reclaim);
	if (!read_line(SYS_MODULE "/parameters/dry_run", buf, sizeof(buf)))
		EXPECT_EQ(buf[0] == 'Y', s.dry_run);
	if (s.config_error)
		TH_LOG("CONFIG_ERROR: %s", s.config_error);
	EXPECT_EQ(nr, (int)s.rules);
	EXPECT_EQ(reserved, (int)s.reserved);
	EXPECT_EQ(pending, (int)s.pending);
	EXPECT_EQ(target_failed, (int)s.target_failed);
	free(d);
	vr_reply_free(&st);
	vr_reply_free(&dev);
	vr_reply_free(&rules);
}

/* One dumped device against its sysfs directory. */
static void check_sysfs(struct __test_metadata *_metadata,
			const struct vr_dev *d, bool ir)
{
	char dir[PATH_MAX], buf[256], path[PATH_MAX];
	unsigned long v;
	unsigned char hdr = 0;
	int fd;

	snprintf(dir, sizeof(dir), SYS_PCI "/%s", d->addr);
	ASSERT_EQ(0, read_hex(dir, "vendor", &v));
	EXPECT_EQ(v, d->vendor) TH_LOG("%s vendor", d->addr);
	ASSERT_EQ(0, read_hex(dir, "device", &v));
	EXPECT_EQ(v, d->device) TH_LOG("%s device", d->addr);
	ASSERT_EQ(0, read_hex(dir, "subsystem_vendor", &v));
	EXPECT_EQ(v, d->subvendor) TH_LOG("%s subvendor", d->addr);
	ASSERT_EQ(0, read_hex(dir, "subsystem_device", &v));
	EXPECT_EQ(v, d->subdevice) TH_LOG("%s subdevice", d->addr);
	ASSERT_EQ(0, read_hex(dir, "class", &v));
	EXPECT_EQ(v, d->class) TH_LOG("%s class", d->addr);

	if (link_base(dir, "driver", buf, sizeof(buf))) {
		EXPECT_EQ(NULL, d->driver) TH_LOG("%s: driver %s, none in sysfs",
						  d->addr, d->driver);
	} else {
		EXPECT_STREQ(buf, str_or_null(d->driver)) TH_LOG("%s driver", d->addr);
	}

	join(path, sizeof(path), dir, "driver_override");
	ASSERT_EQ(0, read_line(path, buf, sizeof(buf)));
	if (!strcmp(buf, "(null)")) {
		EXPECT_EQ(NULL, d->override) TH_LOG("%s: override %s, none in sysfs",
						    d->addr, d->override);
	} else {
		EXPECT_STREQ(buf, str_or_null(d->override)) TH_LOG("%s override", d->addr);
	}

	if (link_base(dir, "iommu_group", buf, sizeof(buf))) {
		EXPECT_FALSE(d->has_group) TH_LOG("%s: group %u, none in sysfs",
						  d->addr, d->group);
	} else {
		EXPECT_TRUE(d->has_group) TH_LOG("%s: no IOMMU_GROUP", d->addr);
		EXPECT_EQ(strtoul(buf, NULL, 10), d->group) TH_LOG("%s group", d->addr);
		if (ir)
			EXPECT_EQ(1, d->intr_remap) TH_LOG("%s INTR_REMAP", d->addr);
	}

	join(path, sizeof(path), dir, "reset_method");
	if (read_line(path, buf, sizeof(buf)))
		buf[0] = '\0';
	EXPECT_STREQ(buf, d->reset) TH_LOG("%s reset methods", d->addr);

	if (!read_hex(dir, "sriov_totalvfs", &v)) {
		EXPECT_TRUE(d->is_pf) TH_LOG("%s: a PF without SRIOV_TOTALVFS", d->addr);
		EXPECT_EQ(v, d->totalvfs) TH_LOG("%s totalvfs", d->addr);
		ASSERT_EQ(0, read_hex(dir, "sriov_numvfs", &v));
		EXPECT_EQ(v, d->numvfs) TH_LOG("%s numvfs", d->addr);
	} else {
		EXPECT_FALSE(d->is_pf) TH_LOG("%s: SRIOV_* but not a PF", d->addr);
	}

	if (link_base(dir, "physfn", buf, sizeof(buf))) {
		EXPECT_EQ(NULL, d->pf_addr) TH_LOG("%s: PF_ADDR %s for no VF",
						   d->addr, d->pf_addr);
	} else {
		EXPECT_STREQ(buf, str_or_null(d->pf_addr)) TH_LOG("%s PF_ADDR", d->addr);
	}

	/* No sysfs file has the header type: byte 0x0e of config space. */
	join(path, sizeof(path), dir, "config");
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, pread(fd, &hdr, 1, 0x0e));
	close(fd);
	EXPECT_EQ((d->class >> 16) == 0x06 || (hdr & 0x7f) != 0, d->bridge)
		TH_LOG("%s: class %06x header type %02x", d->addr, d->class, hdr);

	/* The state and what comes with it. */
	if (d->state == VFIO_RESERVE_STATE_RESERVED) {
		/* a rule without @DRIVER (or a claim) reserves for vfio-pci */
		if (d->rule && !strchr(d->rule, '@')) {
			EXPECT_STREQ("vfio-pci", str_or_null(d->target)) TH_LOG("%s", d->addr);
		}
		/* the override names the target, or holds it (the module's name) */
		if (!d->target_err) {
			EXPECT_STREQ(str_or_null(d->target), str_or_null(d->override))
				TH_LOG("%s", d->addr);
		} else {
			EXPECT_STREQ("vfio_reserve", str_or_null(d->override))
				TH_LOG("%s", d->addr);
		}
		EXPECT_NE(NULL, d->rule) TH_LOG("%s: reserved without RULE", d->addr);
		EXPECT_EQ(0, d->bridge);
	} else if (d->state == VFIO_RESERVE_STATE_PENDING) {
		EXPECT_NE(NULL, d->rule) TH_LOG("%s: pending without RULE", d->addr);
		EXPECT_NE(NULL, d->target) TH_LOG("%s: pending without TARGET", d->addr);
	} else {
		EXPECT_EQ(NULL, d->target) TH_LOG("%s: TARGET %s in state none",
						  d->addr, d->target);
		EXPECT_EQ(0, d->target_err) TH_LOG("%s", d->addr);
		EXPECT_EQ(NULL, d->rule) TH_LOG("%s: RULE %s in state none",
						d->addr, d->rule);
		EXPECT_EQ(NULL, d->prev_driver) TH_LOG("%s: PREV_DRIVER in state none",
						       d->addr);
	}
}

TEST_F(genl, device_dump_matches_sysfs)
{
	struct vr_reply rep;
	struct vr_dev *d;
	char **sys;
	int n, ns, i;
	bool ir = sys_iommu() && sys_intr_remap();

	NEED_FAMILY();
	n = dump_devs(_metadata, &self->nl, &rep, &d);
	ns = list_pci(SYS_PCI, &sys);
	ASSERT_LT(0, ns);
	/* Both sorted (fixed-width lower-case hex sorts as the key does). */
	for (i = 0; i < n && i < ns; i++)
		EXPECT_STREQ(sys[i], d[i].addr);
	EXPECT_EQ(ns, n) TH_LOG("%d devices in sysfs, %d dumped", ns, n);
	for (i = 0; i < n; i++)
		check_sysfs(_metadata, &d[i], ir);
	TH_LOG("%d devices dumped and checked", n);
	free_list(sys, ns);
	free(d);
	vr_reply_free(&rep);
}

TEST_F(genl, device_do_equals_dump)
{
	struct vr_reply dump, one;
	struct vr_dev *d;
	int n, i;

	NEED_FAMILY();
	n = dump_devs(_metadata, &self->nl, &dump, &d);
	for (i = 0; i < n; i++) {
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET,
			  VFIO_RESERVE_A_DEV_ADDR, d[i].addr, &one);
		ASSERT_OK(&one);
		ASSERT_EQ(1, one.n);
		EXPECT_EQ(VFIO_RESERVE_CMD_DEVICE_GET, one.msg[0].cmd);
		EXPECT_TRUE(one.msg[0].len == d[i].msg->len &&
			    !memcmp(one.msg[0].data, d[i].msg->data, one.msg[0].len))
			TH_LOG("%s: do and dump differ", d[i].addr);
		vr_reply_free(&one);
	}
	free(d);
	vr_reply_free(&dump);

	vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR,
		  NO_SUCH_ADDR, &one);
	EXPECT_ERR(-ENODEV, &one);
	EXPECT_NE(0, strlen(one.ext)) TH_LOG("no extack message for " NO_SUCH_ADDR);
	vr_reply_free(&one);

	{
		static const char *const bad[] = {
			"0000:00:02", "zzzz:00:02.0", "0000:00:20.0",
			"0000:00:02.8", "00:02.0", "",
		};
		size_t k;

		for (k = 0; k < ARRAY_SIZE(bad); k++) {
			vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET,
				  VFIO_RESERVE_A_DEV_ADDR, bad[k], &one);
			EXPECT_GT(0, one.error) TH_LOG("address \"%s\" accepted", bad[k]);
			EXPECT_NE(-EPROTO, one.error) TH_LOG("%s", one.why);
			vr_reply_free(&one);
		}
	}
	still_answers(_metadata, &self->nl);
}

/*
 * An address is "dddd:bb:ss.f" as in sysfs (the header's top comment): a
 * string of another shape names no device, even when its numbers would.
 */
TEST_F(genl, device_do_wants_canonical_address)
{
	static const char *const odd[] = {
		"0:0:2.0", "0000:0:2.0", "0000:00:2.0", "0x0:00:02.0",
	};
	struct vr_reply rep;
	size_t k;

	NEED_FAMILY();
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR,
		  "0000:00:02.0", &rep);
	if (rep.error == -ENODEV)
		SKIP(return, "no device at 0000:00:02.0 to misspell");
	ASSERT_OK(&rep);
	vr_reply_free(&rep);
	for (k = 0; k < ARRAY_SIZE(odd); k++) {
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET,
			  VFIO_RESERVE_A_DEV_ADDR, odd[k], &rep);
		EXPECT_GT(0, rep.error) TH_LOG("\"%s\" accepted as an address", odd[k]);
		vr_reply_free(&rep);
	}
}

TEST_F(genl, claim_and_release_refusals)
{
	struct vr_reply dump, rep;
	struct vr_dev *d;
	const char *bridge = NULL, *plain = NULL;
	int n, i;

	NEED_ADMIN();
	n = dump_devs(_metadata, &self->nl, &dump, &d);
	for (i = 0; i < n; i++) {
		if (d[i].bridge && !bridge)
			bridge = d[i].addr;
		if (!d[i].bridge && d[i].state == VFIO_RESERVE_STATE_NONE &&
		    !d[i].in_use && !plain)
			plain = d[i].addr;
	}
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_CLAIM, VFIO_RESERVE_A_DEV_ADDR,
		  NO_SUCH_ADDR, &rep);
	EXPECT_ERR(-ENODEV, &rep);
	vr_reply_free(&rep);
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_RELEASE, VFIO_RESERVE_A_DEV_ADDR,
		  NO_SUCH_ADDR, &rep);
	EXPECT_ERR(-ENODEV, &rep);
	vr_reply_free(&rep);
	if (bridge) {
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_CLAIM,
			  VFIO_RESERVE_A_DEV_ADDR, bridge, &rep);
		EXPECT_ERR(-EINVAL, &rep);
		/* answered from the ordered queue, pointing at the address */
		EXPECT_STREQ("bridges and non-endpoint functions are never reserved",
			     rep.ext);
		EXPECT_TRUE(rep.has_offs && rep.offs == FIRST_ATTR_OFFS)
			TH_LOG("claim of bridge %s: offset %u", bridge, rep.offs);
		vr_reply_free(&rep);
	}
	if (plain) {
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_RELEASE,
			  VFIO_RESERVE_A_DEV_ADDR, plain, &rep);
		EXPECT_ERR(-ENOENT, &rep);
		EXPECT_STREQ("the device is not reserved", rep.ext);
		EXPECT_TRUE(rep.has_offs && rep.offs == FIRST_ATTR_OFFS)
			TH_LOG("release of %s: offset %u", plain, rep.offs);
		vr_reply_free(&rep);
	}
	TH_LOG("bridge %s, unreserved device %s", bridge ? bridge : "(none)",
	       plain ? plain : "(none)");
	free(d);
	vr_reply_free(&dump);

	/* Nothing changed hands. */
	n = dump_devs(_metadata, &self->nl, &dump, &d);
	for (i = 0; i < n; i++)
		if ((bridge && !strcmp(d[i].addr, bridge)) ||
		    (plain && !strcmp(d[i].addr, plain)))
			EXPECT_EQ(VFIO_RESERVE_STATE_NONE, d[i].state);
	free(d);
	vr_reply_free(&dump);
}

TEST_F(genl, group_dump_matches_sysfs)
{
	struct vr_reply rep, one;
	struct vr_group g;
	char why[256] = "", dir[PATH_MAX], drv[64], **mem;
	int i, j, k, nmem, last = -1, pci_groups = 0;
	DIR *dd;
	struct dirent *e;

	NEED_FAMILY();
	vr_dump(&self->nl, VFIO_RESERVE_CMD_GROUP_GET, &rep);
	ASSERT_OK(&rep);

	/* The groups sysfs has with a PCI function in them. */
	dd = opendir(SYS_GROUPS);
	ASSERT_NE(NULL, dd);
	while ((e = readdir(dd))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(dir, sizeof(dir), SYS_GROUPS "/%s/devices", e->d_name);
		nmem = list_pci(dir, &mem);
		if (nmem > 0)
			pci_groups++;
		free_list(mem, nmem > 0 ? nmem : 0);
	}
	closedir(dd);
	EXPECT_EQ(pci_groups, (int)rep.n);

	for (i = 0; i < (int)rep.n; i++) {
		bool any_blocks = false;

		ASSERT_EQ(0, vr_group_parse(&rep.msg[i], &g, why, sizeof(why)))
			TH_LOG("group message %d: %s", i, why);
		EXPECT_LT(last, (int)g.id) TH_LOG("group %u after %d", g.id, last);
		last = (int)g.id;
		snprintf(dir, sizeof(dir), SYS_GROUPS "/%u/devices", g.id);
		nmem = list_pci(dir, &mem);
		ASSERT_LT(0, nmem) TH_LOG("group %u has no PCI function in sysfs", g.id);
		EXPECT_EQ(nmem, g.n) TH_LOG("group %u: %d members in sysfs", g.id, nmem);
		for (j = 0; j < g.n; j++) {
			const struct vr_member *m = &g.member[j];
			bool found = false, blocks;

			for (k = 0; k < nmem; k++)
				found |= !strcmp(mem[k], m->addr);
			EXPECT_TRUE(found) TH_LOG("group %u: %s not in sysfs", g.id, m->addr);
			snprintf(dir, sizeof(dir), SYS_PCI "/%s", m->addr);
			if (link_base(dir, "driver", drv, sizeof(drv))) {
				EXPECT_EQ(NULL, m->driver) TH_LOG("%s", m->addr);
				blocks = false;
			} else {
				EXPECT_STREQ(drv, str_or_null(m->driver)) TH_LOG("%s", m->addr);
				blocks = !bound_to_dma_managing(dir, drv);
			}
			EXPECT_EQ(blocks, m->blocks) TH_LOG("%s (%s): BLOCKS", m->addr,
							    m->driver ? m->driver : "no driver");
			any_blocks |= m->blocks;
		}
		EXPECT_EQ(!any_blocks, g.viable) TH_LOG("group %u: VIABLE", g.id);
		for (k = 0; k < nmem; k++) {
			bool found = false;

			for (j = 0; j < g.n; j++)
				found |= !strcmp(mem[k], g.member[j].addr);
			EXPECT_TRUE(found) TH_LOG("group %u: %s not a MEMBER", g.id, mem[k]);
		}
		free_list(mem, nmem);

		/* do by id gives the same message (the same bytes) */
		vr_do_u32(&self->nl, VFIO_RESERVE_CMD_GROUP_GET,
			  VFIO_RESERVE_A_GROUP_ID, g.id, &one);
		ASSERT_OK(&one);
		ASSERT_EQ(1, one.n);
		EXPECT_TRUE(one.msg[0].len == rep.msg[i].len &&
			    !memcmp(one.msg[0].data, rep.msg[i].data, one.msg[0].len))
			TH_LOG("group %u: do and dump differ", g.id);
		vr_reply_free(&one);
	}
	TH_LOG("%zu groups checked", rep.n);

	vr_do_u32(&self->nl, VFIO_RESERVE_CMD_GROUP_GET, VFIO_RESERVE_A_GROUP_ID,
		  (uint32_t)(last + 1000), &one);
	EXPECT_ERR(-ENOENT, &one);
	EXPECT_NE(0, strlen(one.ext)) TH_LOG("no extack message for an unknown group");
	vr_reply_free(&one);
	vr_reply_free(&rep);
}

TEST_F(genl, rule_dump)
{
	struct vr_reply rep, st;
	struct vr_status s;
	struct vr_rule r[256];
	int n, i;

	NEED_FAMILY();
	n = dump_rules(_metadata, &self->nl, &rep, r, 256);
	for (i = 0; i < n; i++) {
		EXPECT_NE(0, strlen(r[i].selector));
		EXPECT_GE(VFIO_RESERVE_SELECTOR_LIST_MAX, (int)strlen(r[i].selector));
		TH_LOG("rule %d: %s (%s)", i, r[i].selector,
		       r[i].origin == VFIO_RESERVE_ORIGIN_PARAM ? "param" : "user");
	}
	get_status(_metadata, &self->nl, &st, &s);
	EXPECT_EQ(n, (int)s.rules);
	vr_reply_free(&st);
	vr_reply_free(&rep);
}

TEST_F(genl, rule_add_bad_or_empty_list_adds_nothing)
{
	bool fmt = kernel_formats_extack();
	struct vr_reply before, after, rep;
	struct vr_rule r[256];

	NEED_ADMIN();
	dump_rules(_metadata, &self->nl, &before, r, 256);
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  "8086:10d3,0000:00:1f.8", &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_STREQ(fmt ? "selector 2 at position 10: the function must be 0-7 or '*'" :
		     "a selector of the list is invalid (vfio-reserve names it)",
		     rep.ext);
	EXPECT_TRUE(rep.has_offs && rep.offs == FIRST_ATTR_OFFS)
		TH_LOG("the bad list is not pointed at (offset %u)", rep.offs);
	vr_reply_free(&rep);

	/*
	 * A control character is refused (it would reach a terminal through
	 * the helper); the message names the place, not the bytes, and the
	 * longest one still fits the kernel's 80 bytes (no "truncated
	 * extack" in the log: 30-netlink's kernel_clean).
	 */
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  "8086:10d3,\x1b[2J0000:00:02.0", &rep);
	EXPECT_ERR(-EINVAL, &rep);
	if (fmt)
		EXPECT_STREQ("selector 2 at position 10: a space or control character in a selector",
			     rep.ext);
	vr_reply_free(&rep);

	/* "@auto" is the helper's to resolve: the module needs a name. */
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  "8086:10d3,15b3:101e@auto", &rep);
	EXPECT_ERR(-EINVAL, &rep);
	if (fmt)
		EXPECT_STREQ("selector 2 at position 10: @auto is not resolved here: give a driver name",
			     rep.ext);
	vr_reply_free(&rep);

	/* The list must not be empty, for RULE_ADD nor for RULE_DEL. */
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  "", &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("empty list: no extack message");
	vr_reply_free(&rep);
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  "", &rep);
	EXPECT_ERR(-EINVAL, &rep);
	vr_reply_free(&rep);

	dump_rules(_metadata, &self->nl, &after, r, 256);
	EXPECT_TRUE(same_msgs(&before, &after)) TH_LOG("the rules changed");
	vr_reply_free(&before);
	vr_reply_free(&after);
}

TEST_F(genl, rule_add_del_round_trip)
{
	struct vr_reply rep, st0, st1;
	struct vr_status s0, s1;
	struct vr_rule r[256];
	uint8_t origin = 0;
	int n;

	NEED_ADMIN();
	n = dump_rules(_metadata, &self->nl, &rep, r, 256);
	if (rules_have(r, n, SPARE_RULE, NULL)) {	/* left by a killed run */
		vr_reply_free(&rep);
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL,
			  VFIO_RESERVE_A_RULE_SELECTOR_LIST, SPARE_RULE, &rep);
		ASSERT_OK(&rep);
	}
	vr_reply_free(&rep);
	get_status(_metadata, &self->nl, &st0, &s0);

	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE, &rep);
	ASSERT_OK(&rep);
	EXPECT_EQ(1, vr_rule_count(&rep));
	EXPECT_EQ(VFIO_RESERVE_CMD_RULE_ADD, rep.msg[0].cmd);
	vr_reply_free(&rep);
	n = dump_rules(_metadata, &self->nl, &rep, r, 256);
	EXPECT_TRUE(rules_have(r, n, SPARE_RULE, &origin));
	EXPECT_EQ(VFIO_RESERVE_ORIGIN_USER, origin);
	vr_reply_free(&rep);
	get_status(_metadata, &self->nl, &st1, &s1);
	EXPECT_EQ(s0.rules + 1, s1.rules);
	EXPECT_EQ(s0.reserved, s1.reserved);	/* matches nothing present */
	vr_reply_free(&st1);

	/* A list with one selector that is no rule: -ENOENT, nothing removed. */
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE ",cafe:babe", &rep);
	EXPECT_ERR(-ENOENT, &rep);
	vr_reply_free(&rep);
	n = dump_rules(_metadata, &self->nl, &rep, r, 256);
	EXPECT_TRUE(rules_have(r, n, SPARE_RULE, NULL)) TH_LOG("removed all the same");
	vr_reply_free(&rep);

	/* Present already: skipped. */
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE, &rep);
	ASSERT_OK(&rep);
	EXPECT_EQ(0, vr_rule_count(&rep));
	vr_reply_free(&rep);

	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE, &rep);
	ASSERT_OK(&rep);
	EXPECT_EQ(1, vr_rule_count(&rep));
	EXPECT_EQ(VFIO_RESERVE_CMD_RULE_DEL, rep.msg[0].cmd);
	vr_reply_free(&rep);
	n = dump_rules(_metadata, &self->nl, &rep, r, 256);
	EXPECT_FALSE(rules_have(r, n, SPARE_RULE, NULL));
	vr_reply_free(&rep);
	get_status(_metadata, &self->nl, &st1, &s1);
	EXPECT_EQ(s0.rules, s1.rules);
	vr_reply_free(&st1);
	vr_reply_free(&st0);
}

/* "dead:NNNN" for the rule-limit test: ids no device has. */
static void filler_list(char *buf, size_t size, int first, int count)
{
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = first; i < first + count; i++)
		len += snprintf(buf + len, size - len, "%sdead:%04x",
				len ? "," : "", i);
}

/*
 * A selector given twice is one rule: RULE_ADD reports and counts it once
 * (also against the rule limit), RULE_DEL reports what it removed.
 */
TEST_F(genl, rule_counts_repeats_once)
{
	char list[VFIO_RESERVE_SELECTOR_LIST_MAX];
	struct vr_reply rep, st0, st1;
	struct vr_status s0, s1;
	struct vr_rule r[300];
	int n, i, added, batch;
	uint32_t full;

	NEED_ADMIN();
	n = dump_rules(_metadata, &self->nl, &rep, r, 300);
	vr_reply_free(&rep);
	ASSERT_FALSE(rules_have(r, n, SPARE_RULE, NULL));
	get_status(_metadata, &self->nl, &st0, &s0);

	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE "," SPARE_RULE, &rep);
	ASSERT_OK(&rep);
	EXPECT_EQ(1, vr_rule_count(&rep)) TH_LOG("\"%s,%s\": added", SPARE_RULE, SPARE_RULE);
	vr_reply_free(&rep);
	get_status(_metadata, &self->nl, &st1, &s1);
	EXPECT_EQ(s0.rules + 1, s1.rules);
	vr_reply_free(&st1);
	n = dump_rules(_metadata, &self->nl, &rep, r, 300);
	EXPECT_EQ((int)s0.rules + 1, n) TH_LOG("the dump lists %d rules", n);
	vr_reply_free(&rep);

	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE "," SPARE_RULE, &rep);
	ASSERT_OK(&rep);
	EXPECT_EQ(1, vr_rule_count(&rep)) TH_LOG("\"%s,%s\": removed", SPARE_RULE, SPARE_RULE);
	vr_reply_free(&rep);
	get_status(_metadata, &self->nl, &st1, &s1);
	EXPECT_EQ(s0.rules, s1.rules);
	vr_reply_free(&st1);

	/*
	 * Fill up with rules no device matches until the module refuses one
	 * more (the limit is the module's; the test learns it).
	 */
	for (batch = 64, added = 0; batch && added < 4096;) {
		filler_list(list, sizeof(list), added, batch);
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD,
			  VFIO_RESERVE_A_RULE_SELECTOR_LIST, list, &rep);
		if (rep.error == -ENOSPC) {
			batch = batch > 1 ? 1 : 0;
		} else {
			EXPECT_OK(&rep);
			if (rep.error) {
				vr_reply_free(&rep);
				break;
			}
			EXPECT_EQ(batch, vr_rule_count(&rep));
			added += batch;
		}
		vr_reply_free(&rep);
	}
	get_status(_metadata, &self->nl, &st1, &s1);
	full = s1.rules;
	EXPECT_EQ(s0.rules + added, full) TH_LOG("%d added", added);
	EXPECT_LT(0, added);
	vr_reply_free(&st1);
	TH_LOG("the module holds at most %u rules", full);

	/* One short of the limit, a repeated selector still fits. */
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  "dead:0000", &rep);
	EXPECT_OK(&rep);
	vr_reply_free(&rep);
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE "," SPARE_RULE, &rep);
	EXPECT_EQ(0, rep.error) TH_LOG("%u rules and \"%s,%s\": error %d, \"%s\"",
				       full - 1, SPARE_RULE, SPARE_RULE,
				       rep.error, rep.ext);
	EXPECT_EQ(1, vr_rule_count(&rep));
	vr_reply_free(&rep);
	get_status(_metadata, &self->nl, &st1, &s1);
	EXPECT_EQ(full, s1.rules);
	vr_reply_free(&st1);

	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE, &rep);
	vr_reply_free(&rep);
	for (i = 1; i < added; i += 64) {
		filler_list(list, sizeof(list), i, added - i < 64 ? added - i : 64);
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL,
			  VFIO_RESERVE_A_RULE_SELECTOR_LIST, list, &rep);
		EXPECT_OK(&rep);
		vr_reply_free(&rep);
	}
	get_status(_metadata, &self->nl, &st1, &s1);
	EXPECT_EQ(s0.rules, s1.rules);
	vr_reply_free(&st1);
	vr_reply_free(&st0);
}

static int vr_dump_parts(struct nl_sock *sk, int family, uint8_t cmd,
			 size_t bufsize, struct vr_reply *rep, int *parts,
			 void (*between)(void *arg), void *arg);

struct rule_del_between {
	struct vr_nl *nl;
	const char *list;
	int error;
};

static void rule_del_between(void *arg)
{
	struct rule_del_between *d = arg;
	struct vr_reply rep;

	vr_do_str(d->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  d->list, &rep);
	d->error = rep.error;
	vr_reply_free(&rep);
}

/* One of the first @n fillers (deleted during the dump)? */
static bool early_filler(const char *sel, unsigned int n)
{
	unsigned int v;
	char end;

	return sscanf(sel, "dead:%4x%c", &v, &end) == 1 && v < n;
}

/*
 * A rule dump read in parts of 4 KiB, with rules of its first part removed
 * after that part is read: every rule that stays comes exactly once and in
 * order (the dump resumes from a rule id, not from a list index that the
 * removal shifts).
 */
TEST_F(genl, rule_dump_in_parts_survives_rule_del)
{
	char list[VFIO_RESERVE_SELECTOR_LIST_MAX], dels[VFIO_RESERVE_SELECTOR_LIST_MAX];
	struct rule_del_between d = { .nl = &self->nl, .list = dels, .error = 1 };
	struct vr_reply rep, before;
	struct vr_rule r[300], b[300];
	int n, nb, i, j, seen, parts = 0, last;
	struct nl_sock *sk;
	char why[256] = "";

	NEED_ADMIN();
	for (i = 0; i < 192; i += 64) {
		filler_list(list, sizeof(list), i, 64);
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD,
			  VFIO_RESERVE_A_RULE_SELECTOR_LIST, list, &rep);
		ASSERT_OK(&rep);
		vr_reply_free(&rep);
	}
	nb = dump_rules(_metadata, &self->nl, &before, b, 300);
	filler_list(dels, sizeof(dels), 0, 16);

	sk = nl_socket_alloc();
	ASSERT_NE(NULL, sk);
	ASSERT_EQ(0, genl_connect(sk));
	vr_dump_parts(sk, self->nl.family, VFIO_RESERVE_CMD_RULE_GET, 4096,
		      &rep, &parts, rule_del_between, &d);
	nl_socket_free(sk);
	EXPECT_OK(&rep);
	EXPECT_EQ(0, d.error) TH_LOG("RULE_DEL between the parts: %d", d.error);
	EXPECT_LE(3, parts) TH_LOG("%d rules came in %d parts", nb, parts);
	n = vr_rules_parse(&rep, r, 300, why, sizeof(why));
	EXPECT_LE(0, n) TH_LOG("rule dump: %s", why);
	for (j = 0, last = -1; j < nb; j++) {
		if (early_filler(b[j].selector, 16))
			continue;
		for (i = 0, seen = 0; i < n; i++) {
			if (strcmp(r[i].selector, b[j].selector))
				continue;
			seen++;
			EXPECT_LT(last, i) TH_LOG("%s out of order", b[j].selector);
			last = i;
		}
		EXPECT_EQ(1, seen) TH_LOG("%s: seen %d times", b[j].selector, seen);
	}
	vr_reply_free(&rep);
	vr_reply_free(&before);

	for (i = 16; i < 192; i += 64) {
		filler_list(list, sizeof(list), i, 192 - i < 64 ? 192 - i : 64);
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL,
			  VFIO_RESERVE_A_RULE_SELECTOR_LIST, list, &rep);
		EXPECT_OK(&rep);
		vr_reply_free(&rep);
	}
}

TEST_F(genl, rule_del_absent_is_enoent)
{
	struct vr_reply rep, before, after;
	struct vr_rule r[256];
	int n;

	NEED_ADMIN();
	n = dump_rules(_metadata, &self->nl, &before, r, 256);
	ASSERT_FALSE(rules_have(r, n, SPARE_RULE, NULL));
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST,
		  SPARE_RULE, &rep);
	EXPECT_ERR(-ENOENT, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("no extack message");
	vr_reply_free(&rep);
	dump_rules(_metadata, &self->nl, &after, r, 256);
	EXPECT_TRUE(same_msgs(&before, &after));
	vr_reply_free(&before);
	vr_reply_free(&after);
}

TEST_F(genl, malformed_missing_attribute)
{
	struct vr_reply rep;

	NEED_FAMILY();
	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, 0, NULL, 0, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_TRUE(rep.has_miss && rep.miss_type == VFIO_RESERVE_A_DEV_ADDR)
		TH_LOG("missing attribute not named (extack \"%s\")", rep.ext);
	vr_reply_free(&rep);

	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_GROUP_GET, 0, NULL, 0, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_TRUE(rep.has_miss && rep.miss_type == VFIO_RESERVE_A_GROUP_ID)
		TH_LOG("missing attribute not named (extack \"%s\")", rep.ext);
	vr_reply_free(&rep);

	if (has_cap_net_admin()) {
		vr_do_raw(&self->nl, VFIO_RESERVE_CMD_RULE_ADD, 0, NULL, 0, &rep);
		EXPECT_ERR(-EINVAL, &rep);
		EXPECT_TRUE(rep.has_miss && rep.miss_type == VFIO_RESERVE_A_RULE_SELECTOR_LIST)
			TH_LOG("missing attribute not named (extack \"%s\")", rep.ext);
		vr_reply_free(&rep);
		/* SELECTOR is one selector, in replies only: never a request's. */
		vr_do_str(&self->nl, VFIO_RESERVE_CMD_RULE_ADD,
			  VFIO_RESERVE_A_RULE_SELECTOR, SPARE_RULE, &rep);
		EXPECT_ERR(-EINVAL, &rep);
		vr_reply_free(&rep);
	}
	still_answers(_metadata, &self->nl);
}

TEST_F(genl, malformed_wrong_type)
{
	struct vr_reply rep;
	uint8_t u8 = 1;
	uint32_t u32 = 0x01010101;

	NEED_FAMILY();
	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_GROUP_GET, VFIO_RESERVE_A_GROUP_ID,
		  &u8, 1, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("GROUP_ID as u8: no extack message");
	vr_reply_free(&rep);

	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_GROUP_GET, VFIO_RESERVE_A_GROUP_ID,
		  "12345", 6, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("GROUP_ID as a string: no extack message");
	vr_reply_free(&rep);

	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR,
		  &u32, 4, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("ADDR as u32: no extack message");
	vr_reply_free(&rep);
	still_answers(_metadata, &self->nl);
}

TEST_F(genl, malformed_oversized_strings)
{
	struct vr_reply rep;
	char *big = malloc(5000);

	NEED_FAMILY();
	ASSERT_NE(NULL, big);
	memset(big, 'a', 5000);
	big[199] = '\0';
	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR,
		  big, 200, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("200-byte ADDR: no extack message");
	vr_reply_free(&rep);

	/* One byte over the limit, and far over. */
	memset(big, '0', 5000);
	big[VFIO_RESERVE_ADDR_SIZE] = '\0';
	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR,
		  big, VFIO_RESERVE_ADDR_SIZE + 1, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	vr_reply_free(&rep);

	if (has_cap_net_admin()) {
		memset(big, 'f', 5000);
		big[4999] = '\0';
		vr_do_raw(&self->nl, VFIO_RESERVE_CMD_RULE_ADD,
			  VFIO_RESERVE_A_RULE_SELECTOR_LIST, big, 5000, &rep);
		EXPECT_ERR(-EINVAL, &rep);
		EXPECT_NE(0, strlen(rep.ext)) TH_LOG("5000-byte SELECTOR: no extack");
		vr_reply_free(&rep);
	}
	free(big);
	still_answers(_metadata, &self->nl);
}

TEST_F(genl, malformed_unknown_attribute)
{
	struct vr_reply rep;
	uint32_t v = 1;

	NEED_FAMILY();
	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_STATUS_GET, 30, &v, 4, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("attribute 30: no extack message");
	vr_reply_free(&rep);

	vr_do_raw(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET,
		  VFIO_RESERVE_A_DEV_VENDOR, &v, 4, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("DEV_VENDOR in a request: no extack");
	vr_reply_free(&rep);
	still_answers(_metadata, &self->nl);
}

TEST_F(genl, malformed_unknown_command)
{
	static const uint8_t cmds[] = {
		99, VFIO_RESERVE_CMD_UNSPEC, VFIO_RESERVE_CMD_EVENT,
		VFIO_RESERVE_CMD_MAX + 1,
	};
	struct vr_reply rep;
	size_t i;

	NEED_FAMILY();
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		vr_xfer(&self->nl, vr_new(&self->nl, cmds[i], 0, 0), &rep);
		EXPECT_ERR(-EOPNOTSUPP, &rep);
		vr_reply_free(&rep);
	}
	/* STATUS_GET has no dump, RULE_GET no do (the header's modes). */
	vr_dump(&self->nl, VFIO_RESERVE_CMD_STATUS_GET, &rep);
	EXPECT_ERR(-EOPNOTSUPP, &rep);
	vr_reply_free(&rep);
	vr_xfer(&self->nl, vr_new(&self->nl, VFIO_RESERVE_CMD_RULE_GET, 0, 0), &rep);
	EXPECT_ERR(-EOPNOTSUPP, &rep);
	vr_reply_free(&rep);
	still_answers(_metadata, &self->nl);
}

TEST_F(genl, malformed_reserved_header_bits)
{
	struct vr_reply rep;
	struct nl_msg *msg;
	struct genlmsghdr *g;

	NEED_FAMILY();
	msg = vr_new(&self->nl, VFIO_RESERVE_CMD_STATUS_GET, 0, 0);
	g = nlmsg_data(nlmsg_hdr(msg));
	g->reserved = 1;
	vr_xfer(&self->nl, msg, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("reserved field: no extack message");
	vr_reply_free(&rep);

	/* NLM_F_EXCL means nothing to a genetlink do. */
	msg = vr_new(&self->nl, VFIO_RESERVE_CMD_STATUS_GET, NLM_F_EXCL, 0);
	vr_xfer(&self->nl, msg, &rep);
	EXPECT_ERR(-EINVAL, &rep);
	EXPECT_NE(0, strlen(rep.ext)) TH_LOG("nlmsg_flags: no extack message");
	vr_reply_free(&rep);
	still_answers(_metadata, &self->nl);
}

static int drop_privileges(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -errno;
	return 0;
}

TEST_F(genl, unprivileged_reads_work_writes_eperm)
{
	static const struct {
		uint8_t cmd;
		int type;
		const char *value;
	} writes[] = {
		{ VFIO_RESERVE_CMD_RULE_ADD, VFIO_RESERVE_A_RULE_SELECTOR_LIST, SPARE_RULE },
		{ VFIO_RESERVE_CMD_RULE_DEL, VFIO_RESERVE_A_RULE_SELECTOR_LIST, SPARE_RULE },
		{ VFIO_RESERVE_CMD_DEVICE_CLAIM, VFIO_RESERVE_A_DEV_ADDR, NO_SUCH_ADDR },
		{ VFIO_RESERVE_CMD_DEVICE_RELEASE, VFIO_RESERVE_A_DEV_ADDR, NO_SUCH_ADDR },
	};
	struct vr_reply rep, devs;
	struct vr_rule r[256];
	struct vr_status s;
	struct vr_dev *d;
	struct vr_group g;
	char why[256];
	int n, grp, ret;
	size_t i;

	NEED_FAMILY();
	if (has_cap_net_admin()) {
		/* This runs in its own process: drop to nobody here. */
		vr_close(&self->nl);
		ret = drop_privileges();
		if (ret)
			SKIP(return, "cannot drop privileges: %s", strerror(-ret));
		ASSERT_FALSE(has_cap_net_admin());
		ASSERT_EQ(0, vr_open(&self->nl));
	}
	TH_LOG("running as uid %d without CAP_NET_ADMIN", (int)getuid());

	get_status(_metadata, &self->nl, &rep, &s);
	vr_reply_free(&rep);
	n = dump_devs(_metadata, &self->nl, &devs, &d);
	ASSERT_LT(0, n);
	vr_do_str(&self->nl, VFIO_RESERVE_CMD_DEVICE_GET, VFIO_RESERVE_A_DEV_ADDR,
		  d[0].addr, &rep);
	ASSERT_OK(&rep);
	vr_reply_free(&rep);
	vr_dump(&self->nl, VFIO_RESERVE_CMD_GROUP_GET, &rep);
	ASSERT_OK(&rep);
	if (rep.n) {
		ASSERT_EQ(0, vr_group_parse(&rep.msg[0], &g, why, sizeof(why)))
			TH_LOG("%s", why);
		vr_reply_free(&rep);
		vr_do_u32(&self->nl, VFIO_RESERVE_CMD_GROUP_GET,
			  VFIO_RESERVE_A_GROUP_ID, g.id, &rep);
		ASSERT_OK(&rep);
	}
	vr_reply_free(&rep);
	dump_rules(_metadata, &self->nl, &rep, r, 256);
	vr_reply_free(&rep);
	grp = genl_ctrl_resolve_grp(self->nl.sk, VFIO_RESERVE_FAMILY_NAME,
				    VFIO_RESERVE_MCGRP_EVENTS);
	ASSERT_LT(0, grp);
	EXPECT_EQ(0, nl_socket_add_membership(self->nl.sk, grp));
	nl_socket_drop_membership(self->nl.sk, grp);

	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		vr_do_str(&self->nl, writes[i].cmd, writes[i].type, writes[i].value,
			  &rep);
		EXPECT_ERR(-EPERM, &rep);
		vr_reply_free(&rep);
	}
	n = dump_rules(_metadata, &self->nl, &rep, r, 256);
	EXPECT_FALSE(rules_have(r, n, SPARE_RULE, NULL));
	vr_reply_free(&rep);
	free(d);
	vr_reply_free(&devs);
}

/* --- the modes --------------------------------------------------------------- */

static const char *const event_names[] = {
	[VFIO_RESERVE_EVENT_ADDED] = "added",
	[VFIO_RESERVE_EVENT_REMOVED] = "removed",
	[VFIO_RESERVE_EVENT_RESERVED] = "reserved",
	[VFIO_RESERVE_EVENT_RELEASED] = "released",
	[VFIO_RESERVE_EVENT_BOUND] = "bound",
	[VFIO_RESERVE_EVENT_UNBOUND] = "unbound",
	[VFIO_RESERVE_EVENT_PENDING] = "pending",
	[VFIO_RESERVE_EVENT_TARGET_FAILED] = "target-failed",
};

static const char *const state_names[] = {
	[VFIO_RESERVE_STATE_NONE] = "none",
	[VFIO_RESERVE_STATE_RESERVED] = "reserved",
	[VFIO_RESERVE_STATE_PENDING] = "pending",
};

static int usage(void)
{
	fprintf(stderr,
		"usage: vr_genl_test [--unprivileged] | --list\n"
		"       vr_genl_test --events-expect KIND[:DRIVER],... --events-addr ADDR [--events-timeout S]\n"
		"       vr_genl_test --dump-loop SECONDS\n"
		"       vr_genl_test --claim ADDR | --release ADDR | --device ADDR\n"
		"       vr_genl_test --group ID\n"
		"       vr_genl_test --rule-add LIST | --rule-del LIST\n");
	return 2;
}

#define MAX_EXPECT 16

struct vr_listen {
	int family;
	const char *addr;
	int want[MAX_EXPECT];
	char want_driver[MAX_EXPECT][64];
	int nwant, next;
	int bad;
	unsigned long seen;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct vr_listen *l = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[VFIO_RESERVE_A_EVENT_MAX + 1];
	struct genlmsghdr *g;
	const char *addr, *drv, *rule;
	char why[128];
	int kind;

	if (nlh->nlmsg_type != l->family || !genlmsg_valid_hdr(nlh, 0))
		return NL_SKIP;
	g = nlmsg_data(nlh);
	if (g->cmd != VFIO_RESERVE_CMD_EVENT ||
	    vr_parse(genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), event_types,
		     VFIO_RESERVE_A_EVENT_MAX, 0, tb, why, sizeof(why)) ||
	    !tb[VFIO_RESERVE_A_EVENT_KIND] || !tb[VFIO_RESERVE_A_EVENT_ADDR]) {
		printf("# malformed event (command %u)\n", g->cmd);
		l->bad++;
		return NL_SKIP;
	}
	kind = nla_get_u8(tb[VFIO_RESERVE_A_EVENT_KIND]);
	addr = nla_data(tb[VFIO_RESERVE_A_EVENT_ADDR]);
	drv = str_or(tb[VFIO_RESERVE_A_EVENT_DRIVER], "");
	rule = str_or(tb[VFIO_RESERVE_A_EVENT_RULE], "");
	l->seen++;
	if (kind < VFIO_RESERVE_EVENT_ADDED || kind > VFIO_RESERVE_EVENT_TARGET_FAILED ||
	    addr_key(addr) < 0) {
		printf("# malformed event: kind %d address \"%s\"\n", kind, addr);
		l->bad++;
		return NL_SKIP;
	}
	printf("# event %s %s%s%s%s%s\n", event_names[kind], addr,
	       drv[0] ? " driver=" : "", drv, rule[0] ? " rule=" : "", rule);
	/* The attributes the header promises with each kind. */
	if (((kind == VFIO_RESERVE_EVENT_BOUND || kind == VFIO_RESERVE_EVENT_UNBOUND ||
	      kind == VFIO_RESERVE_EVENT_PENDING || kind == VFIO_RESERVE_EVENT_RESERVED ||
	      kind == VFIO_RESERVE_EVENT_TARGET_FAILED) && !drv[0]) ||
	    ((kind == VFIO_RESERVE_EVENT_RESERVED || kind == VFIO_RESERVE_EVENT_RELEASED ||
	      kind == VFIO_RESERVE_EVENT_PENDING ||
	      kind == VFIO_RESERVE_EVENT_TARGET_FAILED) && !rule[0])) {
		printf("# event %s without its DRIVER or RULE\n", event_names[kind]);
		l->bad++;
	}
	if (l->next < l->nwant && !strcmp(addr, l->addr) &&
	    kind == l->want[l->next] &&
	    (!l->want_driver[l->next][0] || !strcmp(drv, l->want_driver[l->next])))
		l->next++;
	fflush(stdout);
	return NL_OK;
}

static int parse_kinds(const char *list, struct vr_listen *l)
{
	char *copy = strdup(list), *tok, *save = NULL, *colon;
	size_t k;

	if (!copy)
		abort();
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (l->nwant == MAX_EXPECT)
			goto bad;
		colon = strchr(tok, ':');
		if (colon) {
			*colon = '\0';
			snprintf(l->want_driver[l->nwant], sizeof(l->want_driver[0]),
				 "%s", colon + 1);
		}
		for (k = 1; k < ARRAY_SIZE(event_names); k++)
			if (!strcmp(tok, event_names[k]))
				break;
		if (k == ARRAY_SIZE(event_names))
			goto bad;
		l->want[l->nwant++] = (int)k;
	}
	free(copy);
	return l->nwant ? 0 : -1;
bad:
	fprintf(stderr, "vr_genl_test: bad event kind list \"%s\"\n", list);
	free(copy);
	return -1;
}

static int run_events(const char *kinds, const char *addr, double timeout)
{
	struct vr_listen l = { .addr = addr };
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cb *cb, *orig;
	struct pollfd pfd;
	double end;
	int grp, ret;

	if (parse_kinds(kinds, &l) || addr_key(addr) < 0)
		return usage();
	if (!sk || genl_connect(sk) < 0)
		goto fail;
	nl_socket_disable_seq_check(sk);
	nl_socket_set_buffer_size(sk, 1 << 20, 0);
	l.family = genl_ctrl_resolve(sk, VFIO_RESERVE_FAMILY_NAME);
	grp = genl_ctrl_resolve_grp(sk, VFIO_RESERVE_FAMILY_NAME,
				    VFIO_RESERVE_MCGRP_EVENTS);
	if (l.family < 0 || grp < 0) {
		fprintf(stderr, "vr_genl_test: cannot resolve %s/%s\n",
			VFIO_RESERVE_FAMILY_NAME, VFIO_RESERVE_MCGRP_EVENTS);
		goto fail;
	}
	ret = nl_socket_add_membership(sk, grp);
	if (ret < 0) {
		fprintf(stderr, "vr_genl_test: join %s: %s\n",
			VFIO_RESERVE_MCGRP_EVENTS, nl_geterror(ret));
		goto fail;
	}
	nl_socket_set_nonblocking(sk);
	/* A clone keeps the socket's disabled sequence check. */
	orig = nl_socket_get_cb(sk);
	cb = nl_cb_clone(orig);
	nl_cb_put(orig);
	if (!cb)
		abort();
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, &l);
	printf("# listening on %s/%s (group %d) for %s of %s\n",
	       VFIO_RESERVE_FAMILY_NAME, VFIO_RESERVE_MCGRP_EVENTS, grp, kinds, addr);
	fflush(stdout);

	end = now_s() + timeout;
	pfd.fd = nl_socket_get_fd(sk);
	pfd.events = POLLIN;
	while (l.next < l.nwant && !l.bad) {
		double left = end - now_s();

		if (left <= 0)
			break;
		ret = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (ret < 0 && errno != EINTR)
			break;
		if (ret <= 0)
			continue;
		ret = nl_recvmsgs(sk, cb);
		if (ret < 0 && ret != -NLE_AGAIN) {
			printf("# receive: %s\n", nl_geterror(ret));
			l.bad++;
		}
	}
	nl_cb_put(cb);
	nl_socket_free(sk);
	if (l.bad) {
		printf("# events: %d malformed or incomplete\n", l.bad);
		return 1;
	}
	if (l.next < l.nwant) {
		printf("# timeout after %.1f s: %d of %d expected events of %s seen "
		       "(waiting for %s), %lu events in all\n", timeout, l.next,
		       l.nwant, addr, event_names[l.want[l.next]], l.seen);
		return 1;
	}
	printf("# events: %s of %s seen in order\n", kinds, addr);
	return 0;
fail:
	if (sk)
		nl_socket_free(sk);
	return 1;
}

/*
 * A dump read datagram by datagram. The kernel sizes the skbs of a dump
 * after the largest buffer the reader has passed to recvmsg() on that socket
 * (at least NLMSG_GOODSIZE), so a socket only ever read with @bufsize bytes
 * gets its dumps in parts of at most about that size, and each part after
 * the first resumes from the family's cursor. *@parts counts them.
 */
static int vr_dump_parts(struct nl_sock *sk, int family, uint8_t cmd,
			 size_t bufsize, struct vr_reply *rep, int *parts,
			 void (*between)(void *arg), void *arg)
{
	struct nl_msg *req = nlmsg_alloc();
	unsigned char *buf = malloc(bufsize);
	struct iovec iov = { .iov_base = buf, .iov_len = bufsize };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct nlmsghdr *nlh;
	double start = now_s();
	bool done = false;
	uint32_t seq;
	ssize_t n;
	int len, ret;

	memset(rep, 0, sizeof(*rep));
	*parts = 0;
	if (!req || !buf ||
	    !genlmsg_put(req, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_DUMP,
			 cmd, VFIO_RESERVE_FAMILY_VERSION))
		abort();
	ret = nl_send_auto(sk, req);
	seq = nlmsg_hdr(req)->nlmsg_seq;
	nlmsg_free(req);
	if (ret < 0) {
		snprintf(rep->why, sizeof(rep->why), "send: %s", nl_geterror(ret));
		rep->error = -EPROTO;
	}
	while (!done && !rep->error) {
		if (now_s() > start + MAX_SECONDS) {
			snprintf(rep->why, sizeof(rep->why),
				 "no end after %d s", MAX_SECONDS);
			rep->error = -ETIMEDOUT;
			break;
		}
		n = recvmsg(nl_socket_get_fd(sk), &mh, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (mh.msg_flags & MSG_TRUNC)) {
			snprintf(rep->why, sizeof(rep->why), "recvmsg: %s",
				 n < 0 ? strerror(errno) : "datagram larger than the buffer");
			rep->error = -EPROTO;
			break;
		}
		(*parts)++;
		/* After the first part, while the dump is under way. */
		if (*parts == 1 && between)
			between(arg);
		len = (int)n;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE) {
				if (nlmsg_datalen(nlh) >= (int)sizeof(int))
					memcpy(&ret, nlmsg_data(nlh), sizeof(ret));
				rep->error = ret < 0 ? ret : 0;
				done = true;
				break;
			}
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				rep->error = ((struct nlmsgerr *)nlmsg_data(nlh))->error;
				vr_parse_extack(nlh, rep);
				done = true;
				if (!rep->error) {
					snprintf(rep->why, sizeof(rep->why), "ACK in a dump");
					rep->error = -EBADMSG;
				}
				break;
			}
			if (nlh->nlmsg_type != family || !genlmsg_valid_hdr(nlh, 0) ||
			    !(nlh->nlmsg_flags & NLM_F_MULTI)) {
				snprintf(rep->why, sizeof(rep->why),
					 "message type %u flags %#x length %u",
					 nlh->nlmsg_type, nlh->nlmsg_flags, nlh->nlmsg_len);
				rep->error = -EBADMSG;
				break;
			}
			vr_append(rep, nlmsg_data(nlh), nlh->nlmsg_flags,
				  genlmsg_attrdata(nlmsg_data(nlh), 0),
				  genlmsg_attrlen(nlmsg_data(nlh), 0));
		}
		if (!done && !rep->error && len) {
			snprintf(rep->why, sizeof(rep->why), "%d bytes left in a datagram", len);
			rep->error = -EBADMSG;
		}
	}
	free(buf);
	return rep->error;
}

static volatile sig_atomic_t stop_loop;

static void on_stop(int sig)
{
	(void)sig;
	stop_loop = 1;
}

/* Parts of 4 KiB: the smallest the kernel makes (NLMSG_GOODSIZE or so). */
#define DUMP_BUF	4096

static int run_dump_loop(double seconds)
{
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
	struct timeval tv = { .tv_sec = 10 };
	struct nl_sock *sk;
	struct vr_reply rep;
	struct vr_dev *d;
	struct vr_nl nl;
	char why[256];
	double end;
	long dumps = 0;
	int n, parts, lo = INT_MAX, hi = -1, plo = INT_MAX, phi = -1, ret, family;

	/* Resolve on one socket, dump on another that never read more. */
	ret = vr_open(&nl);
	if (ret) {
		fprintf(stderr, "vr_genl_test: cannot resolve %s: %s\n",
			VFIO_RESERVE_FAMILY_NAME, strerror(-ret));
		return 1;
	}
	family = nl.family;
	vr_close(&nl);
	/*
	 * A dump's parse passes glibc's 128 KiB mmap threshold at about 400
	 * functions: each dump would then mmap and munmap it, and each munmap
	 * flushes the TLB, which under TCG leaves the kernel's next walk of
	 * every device cold. Keep it in the heap: the loop measures the
	 * module, not its own allocator.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	sk = nl_socket_alloc();
	if (!sk || genl_connect(sk) < 0) {
		fprintf(stderr, "vr_genl_test: cannot open a netlink socket\n");
		return 1;
	}
	setsockopt(nl_socket_get_fd(sk), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* SIGTERM or SIGINT end the loop after the dump in progress. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("# dump-loop: dumping every device for %.1f s or until SIGTERM, "
	       "reading %d bytes at a time\n", seconds, DUMP_BUF);
	fflush(stdout);
	end = now_s() + seconds;
	do {
		vr_dump_parts(sk, family, VFIO_RESERVE_CMD_DEVICE_GET, DUMP_BUF,
			      &rep, &parts, NULL, NULL);
		if (rep.error) {
			printf("# dump %ld: error %d (%s) %s %s\n", dumps + 1,
			       rep.error, strerror(-rep.error), rep.ext, rep.why);
			vr_reply_free(&rep);
			nl_socket_free(sk);
			return 1;
		}
		n = vr_devs_parse(&rep, &d, why, sizeof(why));
		if (n < 0) {
			printf("# dump %ld: %s\n", dumps + 1, why);
			vr_reply_free(&rep);
			nl_socket_free(sk);
			return 1;
		}
		dumps++;
		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
		plo = parts < plo ? parts : plo;
		phi = parts > phi ? parts : phi;
		free(d);
		vr_reply_free(&rep);
	} while (!stop_loop && now_s() < end);
	nl_socket_free(sk);
	printf("# dump-loop: %ld dumps, %d to %d devices each in %d to %d parts, "
	       "all well formed, in order and without repeats\n",
	       dumps, lo, hi, plo, phi);
	return 0;
}

static void print_dev(const struct vr_dev *d)
{
	printf("# %s %04x:%04x state=%s driver=%s override=%s rule=%s prev=%s\n",
	       d->addr, d->vendor, d->device, state_names[d->state],
	       d->driver ? d->driver : "-", d->override ? d->override : "-",
	       d->rule ? d->rule : "-", d->prev_driver ? d->prev_driver : "-");
}

/* --group ID: GROUP_GET by id (the do path), one line of what it says. */
static int run_group(const char *arg)
{
	static struct vr_group g;
	struct vr_reply rep;
	struct vr_nl nl;
	char why[256];
	int ret, i;

	ret = vr_open(&nl);
	if (ret) {
		fprintf(stderr, "vr_genl_test: cannot resolve %s: %s\n",
			VFIO_RESERVE_FAMILY_NAME, strerror(-ret));
		return 1;
	}
	vr_do_u32(&nl, VFIO_RESERVE_CMD_GROUP_GET, VFIO_RESERVE_A_GROUP_ID,
		  (uint32_t)strtoul(arg, NULL, 10), &rep);
	vr_close(&nl);
	if (rep.error) {
		fprintf(stderr, "vr_genl_test: group %s: %s%s%s%s\n", arg,
			strerror(-rep.error), rep.ext[0] ? ": " : "", rep.ext,
			rep.why);
		vr_reply_free(&rep);
		return 1;
	}
	if (rep.n != 1 || vr_group_parse(&rep.msg[0], &g, why, sizeof(why))) {
		printf("# group %s: malformed reply: %s\n", arg, why);
		vr_reply_free(&rep);
		return 1;
	}
	printf("group %u members %d viable %u in_use %u blocking", g.id, g.n,
	       g.viable, g.in_use);
	for (i = 0; i < g.n; i++)
		if (g.member[i].blocks)
			printf(" %s:%s", g.member[i].addr,
			       g.member[i].driver ? g.member[i].driver : "-");
	printf("\n");
	vr_reply_free(&rep);
	return 0;
}

static int run_one(uint8_t cmd, const char *arg)
{
	bool rule = cmd == VFIO_RESERVE_CMD_RULE_ADD || cmd == VFIO_RESERVE_CMD_RULE_DEL;
	struct vr_reply rep;
	struct vr_dev d;
	struct vr_nl nl;
	char why[256];
	int ret;

	ret = vr_open(&nl);
	if (ret) {
		fprintf(stderr, "vr_genl_test: cannot resolve %s: %s\n",
			VFIO_RESERVE_FAMILY_NAME, strerror(-ret));
		return 1;
	}
	vr_do_str(&nl, cmd, rule ? VFIO_RESERVE_A_RULE_SELECTOR_LIST : VFIO_RESERVE_A_DEV_ADDR,
		  arg, &rep);
	vr_close(&nl);
	if (rep.error) {
		fprintf(stderr, "vr_genl_test: %s: %s%s%s%s\n", arg,
			strerror(-rep.error), rep.ext[0] ? ": " : "", rep.ext,
			rep.why);
		vr_reply_free(&rep);
		return 1;
	}
	ret = 0;
	if (rule) {
		printf("# %s: %d rule(s) %s\n", arg, vr_rule_count(&rep),
		       cmd == VFIO_RESERVE_CMD_RULE_ADD ? "added" : "removed");
	} else if (rep.n != 1 || vr_dev_parse(&rep.msg[0], &d, why, sizeof(why))) {
		printf("# %s: malformed reply\n", arg);
		ret = 1;
	} else {
		print_dev(&d);
	}
	vr_reply_free(&rep);
	return ret;
}

static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	const char *kinds = NULL, *addr = NULL;
	double timeout = 10;
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--list")) {
			struct __fixture_metadata *f;
			struct __test_metadata *t;

			/* The tests in the order the harness runs them. */
			for (f = __fixture_list; f; f = f->next)
				for (t = f->tests; t; t = t->next)
					printf("%s.%s\n", f->name, t->name);
			return 0;
		}
		if (!strcmp(opt, "--unprivileged")) {
			if (has_cap_net_admin()) {
				fprintf(stderr, "vr_genl_test: --unprivileged, %s\n",
					"but CAP_NET_ADMIN is in effect");
				return 1;
			}
			continue;
		}
		if (!val)
			return usage();
		i++;
		if (!strcmp(opt, "--events-expect"))
			kinds = val;
		else if (!strcmp(opt, "--events-addr"))
			addr = val;
		else if (!strcmp(opt, "--events-timeout"))
			timeout = atof(val);
		else if (!strcmp(opt, "--dump-loop"))
			return run_dump_loop(atof(val));
		else if (!strcmp(opt, "--claim"))
			return run_one(VFIO_RESERVE_CMD_DEVICE_CLAIM, val);
		else if (!strcmp(opt, "--release"))
			return run_one(VFIO_RESERVE_CMD_DEVICE_RELEASE, val);
		else if (!strcmp(opt, "--device"))
			return run_one(VFIO_RESERVE_CMD_DEVICE_GET, val);
		else if (!strcmp(opt, "--group"))
			return run_group(val);
		else if (!strcmp(opt, "--rule-add"))
			return run_one(VFIO_RESERVE_CMD_RULE_ADD, val);
		else if (!strcmp(opt, "--rule-del"))
			return run_one(VFIO_RESERVE_CMD_RULE_DEL, val);
		else
			return usage();
	}
	if (kinds || addr) {
		if (!kinds || !addr)
			return usage();
		return run_events(kinds, addr, timeout);
	}
	/* Nothing to test without the family: skip the whole program. */
	if (access(SYS_MODULE, F_OK)) {
		printf("TAP version 13\n1..0 # SKIP the vfio_reserve module is not loaded\n");
		return KSFT_SKIP;
	}
	return test_harness_run(argc, argv);
}
