// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The vfio_reserve generic netlink family, over libnl-3. Every request
 * asks for extended acks so that the kernel's own explanation of an error
 * reaches the user.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "vfio-reserve.h"

/* An attribute of the parsed table @tb, or 0 when absent. */
#define U8(a)	(tb[a] ? nla_get_u8(tb[a]) : 0)
#define U16(a)	(tb[a] ? nla_get_u16(tb[a]) : 0)
#define U32(a)	(tb[a] ? nla_get_u32(tb[a]) : 0)

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vr_req {
	struct vr_nl *nl;
	int maxattr;
	int (*parse)(struct nlmsghdr *nlh, struct nlattr **tb, void *arg);
	void *arg;
	bool done;
	int parse_error;
};

static int vr_nl_on_error(struct sockaddr_nl *nla, struct nlmsgerr *err,
			  void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)err - 1;
	struct vr_req *req = arg;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)sizeof(*err);
	char *attrs = (char *)(err + 1);

	(void)nla;
	req->nl->error = err->error;
	req->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		int skip = (int)err->msg.nlmsg_len - NLMSG_HDRLEN;

		attrs += skip;
		len -= skip;
	}
	if (len > 0 && !nla_parse(tb, NLMSGERR_ATTR_MAX,
				  (struct nlattr *)attrs, len, NULL) &&
	    tb[NLMSGERR_ATTR_MSG])
		snprintf(req->nl->extack, sizeof(req->nl->extack), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int vr_nl_on_done(struct nl_msg *msg, void *arg)
{
	struct vr_req *req = arg;

	(void)msg;
	req->done = true;
	return NL_STOP;
}

/* The largest attribute table of a reply: each one is checked to fit. */
#define VR_NL_TB	32
_Static_assert(VFIO_RESERVE_A_STATUS_MAX < VR_NL_TB, "status attributes");
_Static_assert(VFIO_RESERVE_A_DEV_MAX < VR_NL_TB, "device attributes");
_Static_assert(VFIO_RESERVE_A_GROUP_MAX < VR_NL_TB, "group attributes");
_Static_assert(VFIO_RESERVE_A_RULE_MAX < VR_NL_TB, "rule attributes");

/* libnl's error as the errno it stands for (EIO only for the rest). */
static int vr_nl_errno(int nlerr)
{
	static const struct { int nle, err; } map[] = {
		{ NLE_NOMEM, ENOMEM }, { NLE_PERM, EPERM },
		{ NLE_NOACCESS, EACCES }, { NLE_EXIST, EEXIST },
		{ NLE_AGAIN, EAGAIN }, { NLE_BUSY, EBUSY },
		{ NLE_INVAL, EINVAL }, { NLE_MSGSIZE, EMSGSIZE },
		{ NLE_OBJ_NOTFOUND, ENOENT }, { NLE_INTR, EINTR },
		{ NLE_DUMP_INTR, EINTR }, { NLE_BAD_SOCK, EBADF },
		{ NLE_NODEV, ENODEV }, { NLE_NOADDR, EADDRNOTAVAIL },
		{ NLE_PROTO_MISMATCH, EPROTONOSUPPORT },
		{ NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_RANGE, ERANGE },
	};
	size_t i;

	if (nlerr < 0)
		nlerr = -nlerr;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nle == nlerr)
			return -map[i].err;
	return -EIO;
}

static int vr_nl_on_valid(struct nl_msg *msg, void *arg)
{
	struct vr_req *req = arg;
	struct nlattr *tb[VR_NL_TB];
	int ret;

	if (!req->parse)
		return NL_OK;
	ret = genlmsg_parse(nlmsg_hdr(msg), 0, tb, req->maxattr, NULL);
	if (!ret)
		ret = req->parse(nlmsg_hdr(msg), tb, req->arg);
	if (ret && !req->parse_error)
		req->parse_error = ret;
	return NL_OK;
}

int vr_nl_open(struct vr_nl *nl)
{
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	ret = genl_connect(nl->sk);
	if (ret) {
		vr_nl_close(nl);
		return -ECONNREFUSED;
	}
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_enable_msg_peek(nl->sk);
	nl->family = genl_ctrl_resolve(nl->sk, VFIO_RESERVE_FAMILY_NAME);
	if (nl->family < 0) {
		vr_nl_close(nl);
		return -ENOENT;
	}
	return 0;
}

/*
 * For the writes that reserve (add, claim, release): as root, load the
 * module when it is not loaded (modprobe applies its modprobe.d options),
 * then open. The module has no genl family alias, so resolving the family
 * never loads it: reads (vr_nl_open() alone) never change what is bound.
 */
int vr_nl_open_write(struct vr_nl *nl)
{
	char *modprobe[] = { "modprobe", "-q", "vfio_reserve", NULL };
	int ret = vr_nl_open(nl);

	if (ret != -ENOENT || geteuid())
		return ret;
	vr_run(modprobe);
	return vr_nl_open(nl);
}

void vr_nl_close(struct vr_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

/* Say what failed and what to do; returns the exit code. */
int vr_nl_fail(struct vr_nl *nl, const char *what, int err)
{
	const char *extack = nl && nl->extack[0] ? nl->extack : NULL;

	if (err == -ENOENT && (!nl || !nl->sk)) {
		vr_err("vfio_reserve is not loaded: modprobe vfio_reserve");
	} else if (err == -EPERM) {
		vr_err("%s: permission denied: this needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)",
		       what);
	} else if (extack) {
		vr_err("%s: %s (%s)", what, extack, strerror(-err));
	} else {
		vr_err("%s: %s", what, strerror(-err));
	}
	/* the module said no to this request: 1; no answer, or no right: 2 */
	return nl && nl->error && err != -EPERM ? VR_EXIT_FAIL : VR_EXIT_USAGE;
}

/*
 * Send one request and read until its ack or the end of its dump; @put
 * adds the request's attribute, if any.
 */
static int vr_nl_request(struct vr_nl *nl, uint8_t cmd, bool dump,
			 int attr, const char *str, const uint32_t *u32,
			 int maxattr,
			 int (*parse)(struct nlmsghdr *, struct nlattr **,
				      void *),
			 void *arg)
{
	struct vr_req req = {
		.nl = nl, .maxattr = maxattr, .parse = parse, .arg = arg,
	};
	struct nl_msg *msg;
	struct nl_cb *cb;
	int ret;

	nl->error = 0;
	nl->extack[0] = '\0';
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		ret = -ENOMEM;
		goto out;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 dump ? NLM_F_DUMP | NLM_F_ACK : NLM_F_ACK, cmd,
			 VFIO_RESERVE_FAMILY_VERSION) ||
	    (str && nla_put_string(msg, attr, str)) ||
	    (u32 && nla_put_u32(msg, attr, *u32))) {
		ret = -EMSGSIZE;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, vr_nl_on_valid, &req);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, vr_nl_on_done, &req);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, vr_nl_on_done, &req);
	nl_cb_err(cb, NL_CB_CUSTOM, vr_nl_on_error, &req);
	ret = nl_send_auto(nl->sk, msg);
	if (ret < 0) {
		ret = vr_nl_errno(ret);
		goto out;
	}
	ret = 0;
	while (!req.done) {
		int r = nl_recvmsgs(nl->sk, cb);

		if (r < 0 && !req.done) {
			ret = vr_nl_errno(r);
			break;
		}
	}
	if (!ret)
		ret = nl->error ? nl->error : req.parse_error;
out:
	nlmsg_free(msg);
	nl_cb_put(cb);
	return ret;
}

static void vr_copy_str(char *dst, size_t size, struct nlattr *a)
{
	snprintf(dst, size, "%s", a ? nla_get_string(a) : "");
}

static int vr_parse_status(struct nlmsghdr *nlh, struct nlattr **tb,
			   void *arg)
{
	struct vr_status *st = arg;

	vr_copy_str(st->version, sizeof(st->version),
		    tb[VFIO_RESERVE_A_STATUS_VERSION]);
	vr_copy_str(st->reclaim, sizeof(st->reclaim),
		    tb[VFIO_RESERVE_A_STATUS_RECLAIM]);
	vr_copy_str(st->config_error, sizeof(st->config_error),
		    tb[VFIO_RESERVE_A_STATUS_CONFIG_ERROR]);
	st->iommu = U8(VFIO_RESERVE_A_STATUS_IOMMU);
	st->intr_remap = U8(VFIO_RESERVE_A_STATUS_INTR_REMAP);
	st->dry_run = U8(VFIO_RESERVE_A_STATUS_DRY_RUN);
	st->rules = U32(VFIO_RESERVE_A_STATUS_RULES);
	st->reserved = U32(VFIO_RESERVE_A_STATUS_RESERVED);
	st->pending = U32(VFIO_RESERVE_A_STATUS_PENDING);
	st->target_failed = U32(VFIO_RESERVE_A_STATUS_TARGET_FAILED);
	(void)nlh;
	return 0;
}

int vr_nl_status(struct vr_nl *nl, struct vr_status *st)
{
	memset(st, 0, sizeof(*st));
	return vr_nl_request(nl, VFIO_RESERVE_CMD_STATUS_GET, false, 0, NULL,
			     NULL, VFIO_RESERVE_A_STATUS_MAX, vr_parse_status,
			     st);
}

static int vr_parse_device(struct nlattr **tb, struct vr_device *d)
{
	memset(d, 0, sizeof(*d));
	if (!tb[VFIO_RESERVE_A_DEV_ADDR])
		return -EPROTO;
	vr_copy_str(d->addr, sizeof(d->addr), tb[VFIO_RESERVE_A_DEV_ADDR]);
	vr_copy_str(d->driver, sizeof(d->driver), tb[VFIO_RESERVE_A_DEV_DRIVER]);
	vr_copy_str(d->override, sizeof(d->override),
		    tb[VFIO_RESERVE_A_DEV_OVERRIDE]);
	vr_copy_str(d->rule, sizeof(d->rule), tb[VFIO_RESERVE_A_DEV_RULE]);
	vr_copy_str(d->prev_driver, sizeof(d->prev_driver),
		    tb[VFIO_RESERVE_A_DEV_PREV_DRIVER]);
	vr_copy_str(d->reset, sizeof(d->reset),
		    tb[VFIO_RESERVE_A_DEV_RESET_METHODS]);
	vr_copy_str(d->pf_addr, sizeof(d->pf_addr),
		    tb[VFIO_RESERVE_A_DEV_PF_ADDR]);
	vr_copy_str(d->target, sizeof(d->target), tb[VFIO_RESERVE_A_DEV_TARGET]);
	d->target_err = U8(VFIO_RESERVE_A_DEV_TARGET_ERROR);
	d->vendor = U16(VFIO_RESERVE_A_DEV_VENDOR);
	d->device = U16(VFIO_RESERVE_A_DEV_DEVICE);
	d->subvendor = U16(VFIO_RESERVE_A_DEV_SUBVENDOR);
	d->subdevice = U16(VFIO_RESERVE_A_DEV_SUBDEVICE);
	d->class = U32(VFIO_RESERVE_A_DEV_CLASS);
	d->state = U8(VFIO_RESERVE_A_DEV_STATE);
	d->has_group = tb[VFIO_RESERVE_A_DEV_IOMMU_GROUP];
	d->group = U32(VFIO_RESERVE_A_DEV_IOMMU_GROUP);
	d->intr_remap = U8(VFIO_RESERVE_A_DEV_INTR_REMAP);
	d->in_use = U8(VFIO_RESERVE_A_DEV_IN_USE);
	d->vfio_open = U8(VFIO_RESERVE_A_DEV_VFIO_OPEN);
	vr_copy_str(d->vfio_cdev, sizeof(d->vfio_cdev),
		    tb[VFIO_RESERVE_A_DEV_VFIO_CDEV]);
	/* a module from before MSI_ISOLATED: its interrupt remapping */
	d->msi_isolated = tb[VFIO_RESERVE_A_DEV_MSI_ISOLATED] ?
			  U8(VFIO_RESERVE_A_DEV_MSI_ISOLATED) : d->intr_remap;
	d->bridge = U8(VFIO_RESERVE_A_DEV_BRIDGE);
	d->is_pf = tb[VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS];
	d->totalvfs = U16(VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS);
	d->numvfs = U16(VFIO_RESERVE_A_DEV_SRIOV_NUMVFS);
	return 0;
}

static int vr_parse_one_device(struct nlmsghdr *nlh, struct nlattr **tb,
			       void *arg)
{
	(void)nlh;
	return vr_parse_device(tb, arg);
}

/* DEVICE_GET, DEVICE_CLAIM or DEVICE_RELEASE of one address. */
int vr_nl_device(struct vr_nl *nl, uint8_t cmd, const char *addr,
		 struct vr_device *d)
{
	memset(d, 0, sizeof(*d));
	return vr_nl_request(nl, cmd, false, VFIO_RESERVE_A_DEV_ADDR, addr,
			     NULL, VFIO_RESERVE_A_DEV_MAX, vr_parse_one_device,
			     d);
}

/* A growing array of fixed-size elements. */
struct vr_vec {
	void *items;
	size_t n, cap, size;
};

static void *vr_vec_push(struct vr_vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 32;
		void *p = realloc(v->items, cap * v->size);

		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
	return memset((char *)v->items + v->n++ * v->size, 0, v->size);
}

static int vr_parse_device_vec(struct nlmsghdr *nlh, struct nlattr **tb,
			       void *arg)
{
	struct vr_device *d = vr_vec_push(arg);

	(void)nlh;
	return d ? vr_parse_device(tb, d) : -ENOMEM;
}

int vr_nl_devices(struct vr_nl *nl, struct vr_device **devs, size_t *n)
{
	struct vr_vec v = { .size = sizeof(**devs) };
	int ret;

	ret = vr_nl_request(nl, VFIO_RESERVE_CMD_DEVICE_GET, true, 0, NULL,
			    NULL, VFIO_RESERVE_A_DEV_MAX, vr_parse_device_vec,
			    &v);
	if (ret) {
		free(v.items);
		return ret;
	}
	*devs = v.items;
	*n = v.n;
	return 0;
}

static int vr_parse_group(struct nlmsghdr *nlh, struct nlattr **tb,
			  void *arg)
{
	struct vr_vec members = { .size = sizeof(struct vr_member) };
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *mb[VFIO_RESERVE_A_MEMBER_MAX + 1];
	struct vr_group *g = vr_vec_push(arg);
	struct vr_member *m;
	struct nlattr *a;
	int rem;

	if (!g)
		return -ENOMEM;
	if (!tb[VFIO_RESERVE_A_GROUP_ID])
		return -EPROTO;
	g->id = nla_get_u32(tb[VFIO_RESERVE_A_GROUP_ID]);
	g->viable = U8(VFIO_RESERVE_A_GROUP_VIABLE);
	g->in_use = U8(VFIO_RESERVE_A_GROUP_IN_USE);
	/* GROUP_MEMBER repeats: walk every attribute, not the parsed table. */
	nla_for_each_attr(a, genlmsg_attrdata(gnlh, 0), genlmsg_attrlen(gnlh, 0),
			  rem) {
		if (nla_type(a) != VFIO_RESERVE_A_GROUP_MEMBER)
			continue;
		if (nla_parse_nested(mb, VFIO_RESERVE_A_MEMBER_MAX, a, NULL) ||
		    !mb[VFIO_RESERVE_A_MEMBER_ADDR])
			goto err;
		m = vr_vec_push(&members);
		if (!m)
			goto err;
		vr_copy_str(m->addr, sizeof(m->addr),
			    mb[VFIO_RESERVE_A_MEMBER_ADDR]);
		vr_copy_str(m->driver, sizeof(m->driver),
			    mb[VFIO_RESERVE_A_MEMBER_DRIVER]);
		m->blocks = mb[VFIO_RESERVE_A_MEMBER_BLOCKS] &&
			    nla_get_u8(mb[VFIO_RESERVE_A_MEMBER_BLOCKS]);
	}
	g->members = members.items;
	g->n = members.n;
	return 0;
err:
	free(members.items);
	return -EPROTO;
}

void vr_groups_free(struct vr_group *g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(g[i].members);
	free(g);
}

int vr_nl_groups(struct vr_nl *nl, struct vr_group **groups, size_t *n)
{
	struct vr_vec v = { .size = sizeof(**groups) };
	int ret;

	ret = vr_nl_request(nl, VFIO_RESERVE_CMD_GROUP_GET, true, 0, NULL,
			    NULL, VFIO_RESERVE_A_GROUP_MAX, vr_parse_group, &v);
	if (ret) {
		vr_groups_free(v.items, v.n);
		return ret;
	}
	*groups = v.items;
	*n = v.n;
	return 0;
}

static int vr_parse_rule(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	struct vr_rule_info *r = vr_vec_push(arg);

	(void)nlh;
	if (!r)
		return -ENOMEM;
	vr_copy_str(r->selector, sizeof(r->selector),
		    tb[VFIO_RESERVE_A_RULE_SELECTOR]);
	r->origin = U8(VFIO_RESERVE_A_RULE_ORIGIN);
	return 0;
}

int vr_nl_rules(struct vr_nl *nl, struct vr_rule_info **rules, size_t *n)
{
	struct vr_vec v = { .size = sizeof(**rules) };
	int ret;

	ret = vr_nl_request(nl, VFIO_RESERVE_CMD_RULE_GET, true, 0, NULL,
			    NULL, VFIO_RESERVE_A_RULE_MAX, vr_parse_rule, &v);
	if (ret) {
		free(v.items);
		return ret;
	}
	*rules = v.items;
	*n = v.n;
	return 0;
}

static int vr_parse_count(struct nlmsghdr *nlh, struct nlattr **tb, void *arg)
{
	uint32_t *count = arg;

	(void)nlh;
	*count = U32(VFIO_RESERVE_A_RULE_COUNT);
	return 0;
}

/* RULE_ADD or RULE_DEL of a selector list; @count: rules changed. */
int vr_nl_rule_change(struct vr_nl *nl, uint8_t cmd, const char *list,
		      uint32_t *count)
{
	*count = 0;
	return vr_nl_request(nl, cmd, false, VFIO_RESERVE_A_RULE_SELECTOR_LIST, list,
			     NULL, VFIO_RESERVE_A_RULE_MAX, vr_parse_count,
			     count);
}

static const char *const vr_event_names[] = {
	[VFIO_RESERVE_EVENT_ADDED] = "added",
	[VFIO_RESERVE_EVENT_REMOVED] = "removed",
	[VFIO_RESERVE_EVENT_RESERVED] = "reserved",
	[VFIO_RESERVE_EVENT_RELEASED] = "released",
	[VFIO_RESERVE_EVENT_BOUND] = "bound",
	[VFIO_RESERVE_EVENT_UNBOUND] = "unbound",
	[VFIO_RESERVE_EVENT_PENDING] = "pending",
	[VFIO_RESERVE_EVENT_TARGET_FAILED] = "target-failed",
};

const char *vr_event_name(uint8_t kind)
{
	if (kind < sizeof(vr_event_names) / sizeof(vr_event_names[0]) &&
	    vr_event_names[kind])
		return vr_event_names[kind];
	return "unknown";
}

/* Why the module left a reserved device unbound, "" when it did not. */
const char *vr_target_error_text(uint8_t err)
{
	switch (err) {
	case VFIO_RESERVE_TARGET_ERROR_OK:
		return "";
	case VFIO_RESERVE_TARGET_ERROR_MISSING:
		return "its target driver cannot be loaded";
	case VFIO_RESERVE_TARGET_ERROR_NOT_VFIO:
		return "its target driver is not a VFIO driver";
	}
	return "its target driver cannot have it";
}

const char *vr_state_name(uint8_t state)
{
	switch (state) {
	case VFIO_RESERVE_STATE_RESERVED:
		return "reserved";
	case VFIO_RESERVE_STATE_PENDING:
		return "pending";
	}
	return "-";
}

struct vr_monitor {
	int (*fn)(const char *kind, const char *addr, const char *driver,
		  const char *rule, void *arg);
	void *arg;
	int ret;
};

static int vr_monitor_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[VFIO_RESERVE_A_EVENT_MAX + 1];
	struct vr_monitor *m = arg;
	struct genlmsghdr *gnlh = nlmsg_data(nlmsg_hdr(msg));

	if (gnlh->cmd != VFIO_RESERVE_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, VFIO_RESERVE_A_EVENT_MAX,
			  NULL) ||
	    !tb[VFIO_RESERVE_A_EVENT_KIND] || !tb[VFIO_RESERVE_A_EVENT_ADDR])
		return NL_OK;
	m->ret = m->fn(vr_event_name(U8(VFIO_RESERVE_A_EVENT_KIND)),
		       nla_get_string(tb[VFIO_RESERVE_A_EVENT_ADDR]),
		       tb[VFIO_RESERVE_A_EVENT_DRIVER] ?
		       nla_get_string(tb[VFIO_RESERVE_A_EVENT_DRIVER]) : NULL,
		       tb[VFIO_RESERVE_A_EVENT_RULE] ?
		       nla_get_string(tb[VFIO_RESERVE_A_EVENT_RULE]) : NULL,
		       m->arg);
	return m->ret ? NL_STOP : NL_OK;
}

/*
 * Call @fn for every event until it returns non-zero or reading fails;
 * when the socket overran (ENOBUFS: events were lost), call @lost, and go
 * on if it returns 0.
 */
int vr_nl_monitor(struct vr_nl *nl,
		  int (*fn)(const char *kind, const char *addr,
			    const char *driver, const char *rule, void *arg),
		  int (*lost)(void *arg), void *arg)
{
	struct vr_monitor m = { .fn = fn, .arg = arg };
	int grp, ret;

	grp = genl_ctrl_resolve_grp(nl->sk, VFIO_RESERVE_FAMILY_NAME,
				    VFIO_RESERVE_MCGRP_EVENTS);
	if (grp < 0)
		return -ENOENT;
	ret = nl_socket_add_membership(nl->sk, grp);
	if (ret)
		return vr_nl_errno(ret);
	nl_socket_disable_seq_check(nl->sk);
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM,
			    vr_monitor_event, &m);
	while (!m.ret) {
		ret = nl_recvmsgs_default(nl->sk);
		/* libnl says NOMEM for the socket's ENOBUFS: errno tells */
		if (ret == -NLE_NOMEM && errno == ENOBUFS) {
			/* events were lost: the caller reports it and resyncs */
			m.ret = lost ? lost(arg) : -ENOBUFS;
		} else if (ret < 0 && ret != -NLE_INTR) {
			return vr_nl_errno(ret);
		}
	}
	return m.ret < 0 ? m.ret : 0;
}

/* Read what @want asks on @nl, open; the exit code (the failure said). */
static int vr_nl_read(struct vr_nl *nl, const char *cmd, unsigned int want,
		      struct vr_facts *f)
{
	int ret = 0;

	if (want & VR_WANT_DEVICES)
		ret = vr_nl_devices(nl, &f->devs, &f->n);
	if (!ret && (want & VR_WANT_GROUPS))
		ret = vr_nl_groups(nl, &f->groups, &f->ng);
	if (!ret && (want & VR_WANT_RULES))
		ret = vr_nl_rules(nl, &f->rules, &f->nr);
	if (ret) {
		ret = vr_nl_fail(nl, cmd, ret);
		vr_facts_free(f);
	}
	vr_nl_close(nl);
	return ret;
}

/*
 * Open, read what @want asks, close: every read of the module. Return the
 * exit code (the failure said, for @cmd).
 */
int vr_nl_fetch(const char *cmd, unsigned int want, struct vr_facts *f)
{
	struct vr_nl nl;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = vr_nl_open(&nl);
	if (ret)
		return vr_nl_fail(NULL, cmd, ret);
	return vr_nl_read(&nl, cmd, want, f);
}

/*
 * vr_nl_fetch(), or when the module is not loaded, what sysfs tells
 * (vr_sysfs_facts()), said on stderr. Return: the exit code.
 */
int vr_read_facts(const struct vr_opts *o, const char *cmd, unsigned int want,
		  struct vr_facts *f)
{
	struct vr_nl nl;
	int ret;

	memset(f, 0, sizeof(*f));
	ret = vr_nl_open(&nl);
	if (!ret)
		return vr_nl_read(&nl, cmd, want, f);
	if (ret != -ENOENT)
		return vr_nl_fail(NULL, cmd, ret);
	vr_err("%s: vfio_reserve is not loaded: read from sysfs; rules, reservations and targets are the module's (?), group viability by driver name (modprobe vfio_reserve for the module's answer)",
	       cmd);
	ret = vr_sysfs_facts(o, f);
	if (ret)
		vr_err("%s: cannot read %s/bus/pci: %s", cmd, o->sysfs,
		       strerror(-ret));
	return ret ? VR_EXIT_USAGE : VR_EXIT_OK;
}

void vr_facts_free(struct vr_facts *f)
{
	free(f->devs);
	vr_groups_free(f->groups, f->ng);
	free(f->rules);
	memset(f, 0, sizeof(*f));
}

const struct vr_device *vr_find_device(const struct vr_device *devs,
				       size_t n, const char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(devs[i].addr, addr))
			return &devs[i];
	return NULL;
}

const struct vr_group *vr_find_group(const struct vr_group *g, size_t n,
				     uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (g[i].id == id)
			return &g[i];
	return NULL;
}
