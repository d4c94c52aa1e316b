// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The vfio_reserve generic netlink family; the protocol is documented in
 * uapi/linux/vfio_reserve.h. Handlers run in parallel (no genl_mutex): what
 * they read of the module's state they get as copies from reserve.c.
 *
 * A handler runs with genl's cb_lock read-held, so it never waits for a
 * driver: a probe that registers a genl family (or loads a module that
 * does) takes cb_lock for writing, and unbinding vfio-pci waits for every
 * open device fd while every family registration in the system waits too.
 * So handlers bind and unbind nothing (CLAIM, RELEASE and RULE_ADD hand
 * that to the ordered queue: struct vr_req) and read devices without
 * their device lock (vr_driver_peek(), vr_override_peek()).
 */
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/workqueue.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "main.h"
#include "netlink.h"
#include "reserve.h"
#include "status.h"
#include "version.h"

static struct genl_family vr_family;
static bool vr_nl_ready;

/*
 * Which selector of the list, where, and why, pointing at the attribute.
 * The token itself is not repeated (the requester has it): the message
 * fits the kernel's 80 bytes (NETLINK_MAX_FMTMSG_LEN) whatever the input,
 * since every reason does (selftests/unit/selector_test.c), and nothing
 * the user wrote reaches the kernel log through a truncation warning. No
 * "vfio_reserve: " prefix (_MOD): the requester knows which family it
 * asked, and the prefix would not fit beside the longest reason. Before
 * formatted messages (6.2) the message is a fixed one; the helper parses
 * every list itself before sending it, and names the selector.
 */
static void vr_extack_selector(struct netlink_ext_ack *extack,
			       const struct nlattr *attr,
			       const struct vr_sel_error *err)
{
#ifdef VR_HAVE_NL_SET_ERR_MSG_FMT
	NL_SET_ERR_MSG_FMT(extack, "selector %u at position %u: %s",
			   err->index, err->pos, err->reason);
	NL_SET_BAD_ATTR(extack, attr);
#else
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "a selector of the list is invalid (vfio-reserve names it)");
#endif
}

/* Sort key and the device it names, referenced. */
struct vr_entry {
	u64 key;
	struct pci_dev *pdev;
};

/*
 * What a dump remembers between calls: the next key to emit, and the
 * devices from there on, collected once (a full dump is linear in the
 * number of functions) and afresh when a function came or went since
 * (vr_bus_generation()), so hotplug neither repeats nor skips what stays.
 */
struct vr_dump_ctx {
	u64 next;
	struct vr_entry *e;	/* sorted by key; NULL: collect */
	unsigned int n, i;	/* collected; the first not sent */
	unsigned int gen;	/* the bus generation of the collection */
};

static int vr_entry_cmp(const void *a, const void *b)
{
	const struct vr_entry *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static void vr_entries_put(struct vr_entry *e, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pci_dev_put(e[i].pdev);
	kfree(e);
}

static int vr_group_key(struct pci_dev *pdev, u64 *key)
{
	struct iommu_group *group = iommu_group_get(&pdev->dev);

	if (!group)
		return -ENOENT;
	*key = (u32)iommu_group_id(group);
	iommu_group_put(group);
	return 0;
}

struct vr_collect {
	struct vr_entry *e;
	unsigned int n, size;
	u64 from;
	bool by_group;
	unsigned int descents;	/* keys below the one before them */
};

static int vr_collect_one(struct device *dev, void *data)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct vr_collect *c = data;
	struct vr_entry *grown;
	u64 key;

	if (c->by_group) {
		if (vr_group_key(pdev, &key))
			return 0;
	} else {
		key = vr_addr_key(pdev);
	}
	if (key < c->from)
		return 0;
	if (c->n == c->size) {
		grown = krealloc_array(c->e, c->size * 2, sizeof(*c->e),
				       GFP_KERNEL);
		if (!grown)
			return -ENOMEM;
		c->e = grown;
		c->size *= 2;
	}
	if (c->n && key < c->e[c->n - 1].key)
		c->descents++;
	c->e[c->n].key = key;
	c->e[c->n].pdev = pci_dev_get(pdev);
	c->n++;
	return 0;
}

/* The end of the run in order that starts at @i. */
static unsigned int vr_run_end(const struct vr_entry *e, unsigned int n,
			       unsigned int i)
{
	for (i++; i < n && e[i].key >= e[i - 1].key; i++)
		;
	return i;
}

/*
 * The bus lists devices in the order they were added: at boot one bus
 * after another, in address order within a bus but the buses not always
 * in number order (qboot numbers them backwards), then hot-added devices
 * at the end. So a walk is a few runs in order, and merging them pairwise,
 * pass after pass, sorts it in O(n log r) for r runs, where sort() takes
 * n log n. Stable: of equal keys the first walked stays first.
 */
static int vr_merge_runs(struct vr_collect *c)
{
	struct vr_entry *a = c->e, *b, *t;
	unsigned int n = c->n, i, mid, hi, l, r, o, runs;

	b = kmalloc_array(c->size, sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	do {
		runs = 0;
		for (i = 0; i < n; i = hi, runs++) {
			mid = vr_run_end(a, n, i);
			hi = mid < n ? vr_run_end(a, n, mid) : n;
			for (l = i, r = mid, o = i; o < hi; o++)
				b[o] = r == hi || (l < mid && a[l].key <= a[r].key) ?
				       a[l++] : a[r++];
		}
		t = a;
		a = b;
		b = t;
	} while (runs > 1);
	kfree(b);
	c->e = a;
	return 0;
}

/*
 * Devices (or, @by_group, one device per IOMMU group) whose key is at least
 * @from, sorted by key, one per key. The bus walk (vr_for_each_pci_dev)
 * sees each device at most once even while devices go; a function removed
 * and added again at the same address during the walk can be seen twice,
 * so of equal keys one is kept. A walk in order is not sorted again, one of
 * a few runs in order is merged (vr_merge_runs()): a full dump stays linear
 * but for a log of the runs.
 */
static struct vr_entry *vr_collect_from(u64 from, bool by_group,
					unsigned int *count)
{
	struct vr_collect c = { .size = 64, .from = from,
				.by_group = by_group };
	unsigned int i, j;

	c.e = kmalloc_array(c.size, sizeof(*c.e), GFP_KERNEL);
	if (!c.e)
		return NULL;
	if (vr_for_each_pci_dev(&c, vr_collect_one)) {
		vr_entries_put(c.e, c.n);
		return NULL;
	}
	/* No memory to merge into: sort in place. */
	if (c.descents && vr_merge_runs(&c))
		sort(c.e, c.n, sizeof(*c.e), vr_entry_cmp, NULL);
	if (c.n) {
		for (i = 1, j = 0; i < c.n; i++) {
			if (c.e[i].key == c.e[j].key)
				pci_dev_put(c.e[i].pdev);
			else
				c.e[++j] = c.e[i];
		}
		c.n = j + 1;
	}
	*count = c.n;
	return c.e;
}

static int vr_put_str(struct sk_buff *skb, int type, const char *s)
{
	return s[0] ? nla_put_string(skb, type, s) : 0;
}

/* @pdev's facts into @skb, with @f as scratch space (allocates nothing). */
static int vr_fill_dev_with(struct sk_buff *skb, struct pci_dev *pdev,
			    struct vr_facts *f, u32 portid, u32 seq, int flags,
			    u8 cmd)
{
	void *hdr;

	vr_facts_get(pdev, f);
	vr_reservation_get(pdev, f);
	hdr = genlmsg_put(skb, portid, seq, &vr_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, VFIO_RESERVE_A_DEV_ADDR, f->addr) ||
	    nla_put_u16(skb, VFIO_RESERVE_A_DEV_VENDOR, f->ids.vendor) ||
	    nla_put_u16(skb, VFIO_RESERVE_A_DEV_DEVICE, f->ids.device) ||
	    nla_put_u16(skb, VFIO_RESERVE_A_DEV_SUBVENDOR, f->ids.subvendor) ||
	    nla_put_u16(skb, VFIO_RESERVE_A_DEV_SUBDEVICE, f->ids.subdevice) ||
	    nla_put_u32(skb, VFIO_RESERVE_A_DEV_CLASS, f->ids.class) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_DEV_STATE, f->state) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_DRIVER, f->driver) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_OVERRIDE, f->override) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_RULE, f->rule) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_PREV_DRIVER, f->prev_driver) ||
	    (f->has_group &&
	     nla_put_u32(skb, VFIO_RESERVE_A_DEV_IOMMU_GROUP, f->group)) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_DEV_INTR_REMAP, f->intr_remap) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_DEV_IN_USE, f->in_use) ||
	    nla_put_string(skb, VFIO_RESERVE_A_DEV_RESET_METHODS, f->reset) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_DEV_BRIDGE, f->bridge) ||
	    (f->is_pf &&
	     (nla_put_u16(skb, VFIO_RESERVE_A_DEV_SRIOV_TOTALVFS, f->totalvfs) ||
	      nla_put_u16(skb, VFIO_RESERVE_A_DEV_SRIOV_NUMVFS, f->numvfs))) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_PF_ADDR, f->pf_addr) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_TARGET, f->target) ||
	    (f->target_err &&
	     nla_put_u8(skb, VFIO_RESERVE_A_DEV_TARGET_ERROR, f->target_err)) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_DEV_MSI_ISOLATED, f->msi_isolated) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_DEV_VFIO_OPEN, f->vfio_open) ||
	    vr_put_str(skb, VFIO_RESERVE_A_DEV_VFIO_CDEV, f->vfio_cdev)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

static int vr_fill_dev(struct sk_buff *skb, struct pci_dev *pdev, u32 portid,
		       u32 seq, int flags, u8 cmd)
{
	struct vr_facts *f = kmalloc_obj(*f, GFP_KERNEL);
	int ret;

	if (!f)
		return -ENOMEM;
	ret = vr_fill_dev_with(skb, pdev, f, portid, seq, flags, cmd);
	kfree(f);
	return ret;
}

/* The PCI functions of an IOMMU group, referenced; all of them. */
struct vr_members {
	struct pci_dev **pdev;
	unsigned int n, size;
};

static int vr_collect_member(struct device *dev, void *data)
{
	struct vr_members *m = data;
	struct pci_dev **grown;

	/* No device lock here: the group mutex is held (lock order). */
	if (!dev_is_pci(dev))
		return 0;
	if (m->n == m->size) {
		grown = krealloc_array(m->pdev, m->size * 2, sizeof(*grown),
				       GFP_KERNEL);
		if (!grown)
			return -ENOMEM;
		m->pdev = grown;
		m->size *= 2;
	}
	m->pdev[m->n++] = pci_dev_get(to_pci_dev(dev));
	return 0;
}

static void vr_members_put(struct vr_members *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		pci_dev_put(m->pdev[i]);
	kfree(m->pdev);
}

static int vr_members_get(struct iommu_group *group, struct vr_members *m)
{
	int ret;

	m->n = 0;
	m->size = 16;
	m->pdev = kmalloc_array(m->size, sizeof(*m->pdev), GFP_KERNEL);
	if (!m->pdev)
		return -ENOMEM;
	ret = iommu_group_for_each_dev(group, m, vr_collect_member);
	if (ret)
		vr_members_put(m);
	return ret;
}

/* The largest GROUP_GET message of @n members. */
static size_t vr_group_msg_size(unsigned int n)
{
	size_t member = nla_total_size(nla_total_size(VFIO_RESERVE_ADDR_SIZE) +
				       nla_total_size(VR_DRV_NAME_SIZE) +
				       nla_total_size(sizeof(u8)));

	return genlmsg_total_size(nla_total_size(sizeof(u32)) +
				  2 * nla_total_size(sizeof(u8)) + n * member);
}

static int vr_count_member(struct device *dev, void *data)
{
	if (dev_is_pci(dev))
		(*(unsigned int *)data)++;
	return 0;
}

/*
 * Room for @pdev's group's message: its members now and 16 that may join
 * meanwhile (0 without a group).
 */
static size_t vr_group_size(struct pci_dev *pdev)
{
	struct iommu_group *group = iommu_group_get(&pdev->dev);
	unsigned int n = 0;

	if (!group)
		return 0;
	iommu_group_for_each_dev(group, &n, vr_count_member);
	iommu_group_put(group);
	return vr_group_msg_size(n + 16);
}

/*
 * The group of @any with every member, and "viable" decided over every
 * member: -EMSGSIZE when it does not fit @skb (the do path sizes its reply
 * with vr_group_size(), a dump its parts with vr_nl_group_start()).
 */
static int vr_fill_group(struct sk_buff *skb, struct pci_dev *any, u32 portid,
			 u32 seq, int flags)
{
	struct iommu_group *group = iommu_group_get(&any->dev);
	struct vr_member_fact {
		char drv[VR_DRV_NAME_SIZE];
		bool blocks;
	} *fact;
	struct vr_members m;
	bool viable = true;
	struct nlattr *nest;
	unsigned int i;
	void *hdr;
	int ret;

	if (!group)
		return -ENOENT;
	ret = vr_members_get(group, &m);
	if (ret)
		goto out_group;
	ret = -ENOMEM;
	fact = kmalloc_array(m.n, sizeof(*fact), GFP_KERNEL);
	if (!fact)
		goto out_members;
	for (i = 0; i < m.n; i++) {
		fact[i].blocks = vr_driver_peek(m.pdev[i], fact[i].drv,
						sizeof(fact[i].drv));
		viable &= !fact[i].blocks;
	}

	ret = -EMSGSIZE;
	hdr = genlmsg_put(skb, portid, seq, &vr_family, flags,
			  VFIO_RESERVE_CMD_GROUP_GET);
	if (!hdr)
		goto out_fact;
	if (nla_put_u32(skb, VFIO_RESERVE_A_GROUP_ID, iommu_group_id(group)) ||
	    nla_put_u8(skb, VFIO_RESERVE_A_GROUP_IN_USE,
		       vr_group_in_use(any)))
		goto cancel;
	for (i = 0; i < m.n; i++) {
		nest = nla_nest_start(skb, VFIO_RESERVE_A_GROUP_MEMBER);
		if (!nest ||
		    nla_put_string(skb, VFIO_RESERVE_A_MEMBER_ADDR,
				   pci_name(m.pdev[i])) ||
		    vr_put_str(skb, VFIO_RESERVE_A_MEMBER_DRIVER, fact[i].drv) ||
		    nla_put_u8(skb, VFIO_RESERVE_A_MEMBER_BLOCKS, fact[i].blocks))
			goto cancel;
		nla_nest_end(skb, nest);
	}
	if (nla_put_u8(skb, VFIO_RESERVE_A_GROUP_VIABLE, viable))
		goto cancel;
	genlmsg_end(skb, hdr);
	ret = 0;
	goto out_fact;
cancel:
	genlmsg_cancel(skb, hdr);
out_fact:
	kfree(fact);
out_members:
	vr_members_put(&m);
out_group:
	iommu_group_put(group);
	return ret;
}

/*
 * A group dump's parts are at least as large as its largest group's
 * message (conventional functions behind a PCIe-to-PCI bridge share one
 * group, 256 of them and more), so that every group fits an empty part.
 */
/* (Re)collect what a dump has left to send: from ctx->next on. */
static int vr_dump_collect(struct vr_dump_ctx *ctx, bool by_group)
{
	unsigned int gen = vr_bus_generation();

	if (ctx->e && ctx->gen == gen)
		return 0;
	vr_entries_put(ctx->e, ctx->n);
	ctx->n = 0;
	ctx->i = 0;
	ctx->gen = gen;
	ctx->e = vr_collect_from(ctx->next, by_group, &ctx->n);
	return ctx->e ? 0 : -ENOMEM;
}

static int vr_nl_dump_done(struct netlink_callback *cb)
{
	struct vr_dump_ctx *ctx = (struct vr_dump_ctx *)cb->ctx;

	vr_entries_put(ctx->e, ctx->n);
	ctx->e = NULL;
	return 0;
}

/*
 * A group dump's parts are at least as large as its largest group's
 * message (conventional functions behind a PCIe-to-PCI bridge share one
 * group, 256 of them and more), so that every group fits an empty part.
 * The groups collected here are the dump's.
 */
static int vr_nl_group_start(struct netlink_callback *cb)
{
	struct vr_dump_ctx *ctx = (struct vr_dump_ctx *)cb->ctx;
	unsigned int i;
	size_t max = 0;
	int ret;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	ret = vr_dump_collect(ctx, true);
	if (ret)
		return ret;
	for (i = 0; i < ctx->n; i++)
		max = max(max, vr_group_size(ctx->e[i].pdev));
	cb->min_dump_alloc = (u32)min_t(size_t, max, U32_MAX);
	return 0;
}

static int vr_nl_dump(struct sk_buff *skb, struct netlink_callback *cb,
		      bool by_group)
{
	struct vr_dump_ctx *ctx = (struct vr_dump_ctx *)cb->ctx;
	u32 portid = NETLINK_CB(cb->skb).portid;
	u32 seq = cb->nlh->nlmsg_seq;
	struct vr_entry *e;
	int err;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	err = vr_dump_collect(ctx, by_group);
	for (; !err && ctx->i < ctx->n; ctx->i++) {
		e = &ctx->e[ctx->i];
		if (by_group)
			err = vr_fill_group(skb, e->pdev, portid, seq,
					    NLM_F_MULTI);
		else
			err = vr_fill_dev(skb, e->pdev, portid, seq,
					  NLM_F_MULTI,
					  VFIO_RESERVE_CMD_DEVICE_GET);
		if (err == -ENOENT)	/* left its group meanwhile */
			err = 0;
		if (err)
			break;
		ctx->next = e->key + 1;
	}
	/* A full skb ends this call; the next resumes at ctx->next. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ? err : skb->len;
}

static int vr_nl_dev_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return vr_nl_dump(skb, cb, false);
}

static int vr_nl_group_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return vr_nl_dump(skb, cb, true);
}

/* The device named by VFIO_RESERVE_A_DEV_ADDR, referenced. */
static struct pci_dev *vr_nl_device(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[VFIO_RESERVE_A_DEV_ADDR];
	struct pci_dev *pdev;

	if (GENL_REQ_ATTR_CHECK(info, VFIO_RESERVE_A_DEV_ADDR))
		return ERR_PTR(-EINVAL);
	pdev = vr_pci_by_addr(nla_data(attr));
	if (!pdev) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "no PCI function at this address (dddd:bb:ss.f)");
		return ERR_PTR(-ENODEV);
	}
	return pdev;
}

/*
 * Fill @msg with @pdev, @f as scratch space (both allocated by the caller),
 * and send it; frees @msg.
 */
static int vr_nl_send_dev(struct genl_info *info, struct sk_buff *msg,
			  struct vr_facts *f, struct pci_dev *pdev)
{
	int ret = vr_fill_dev_with(msg, pdev, f, info->snd_portid,
				   info->snd_seq, 0, info->genlhdr->cmd);

	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

/* A RULE_ADD or RULE_DEL reply: how many rules it added or removed. */
static int vr_fill_count(struct sk_buff *skb, u32 portid, u32 seq, u8 cmd,
			 u32 count)
{
	void *hdr = genlmsg_put(skb, portid, seq, &vr_family, 0, cmd);

	if (!hdr || nla_put_u32(skb, VFIO_RESERVE_A_RULE_COUNT, count))
		return -EMSGSIZE;
	genlmsg_end(skb, hdr);
	return 0;
}

/*
 * A request carried out on the ordered queue (see the top of this file).
 * The handler checks it, allocates its reply, keeps it and returns -EINTR,
 * on which netlink_rcv_skb() sends nothing (netlink_dump_start() answers
 * the same way). The work item answers as the handler would have: the
 * reply, then the ack or the error with its extack message, to the same
 * port and sequence number. The requester only waits longer.
 */
struct vr_req {
	struct work_struct work;
	struct sk_buff *skb;		/* a clone of the request */
	struct nlmsghdr *nlh;		/* its header, @skb's first */
	const struct nlattr *attr;	/* what an error points at, in @skb */
	struct pci_dev *pdev;		/* CLAIM, RELEASE: referenced */
	struct sk_buff *msg;		/* the reply, allocated beforehand */
	struct vr_facts *f;		/* CLAIM, RELEASE: scratch space */
	u8 cmd;
	u32 count;			/* RULE_ADD: the rules it added */
	struct netlink_ext_ack extack;	/* why it failed */
};

static void vr_req_work(struct work_struct *work);

static void vr_req_free(struct vr_req *req)
{
	if (req->skb) {
		sock_put(NETLINK_CB(req->skb).sk);
		kfree_skb(req->skb);
	}
	nlmsg_free(req->msg);
	kfree(req->f);
	pci_dev_put(req->pdev);
	kfree(req);
}

/*
 * The request in @skb kept for later, with its reply allocated: nothing
 * has changed if this fails. netlink_ack() needs the request as the
 * handler sees it: a clone keeps this message at its start (the original
 * moves on to the next) and is owned, as the original is, by genl's
 * socket, which the answers are sent on. The sender's socket, whose flags
 * netlink_ack() reads, is held.
 */
static struct vr_req *vr_req_new(struct sk_buff *skb, struct genl_info *info,
				 const struct nlattr *attr, bool facts)
{
	struct vr_req *req = kzalloc_obj(*req, GFP_KERNEL);

	if (!req)
		return NULL;
	INIT_WORK(&req->work, vr_req_work);
	req->attr = attr;
	req->cmd = info->genlhdr->cmd;
	req->msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (facts)
		req->f = kmalloc_obj(*req->f, GFP_KERNEL);
	req->skb = skb_clone(skb, GFP_KERNEL);
	if (req->skb) {
		skb_set_owner_r(req->skb, skb->sk);
		sock_hold(NETLINK_CB(req->skb).sk);
		req->nlh = nlmsg_hdr(req->skb);
	}
	if (!req->msg || (facts && !req->f) || !req->skb) {
		vr_req_free(req);
		return NULL;
	}
	return req;
}

/*
 * Queue @req, which then answers its request: -EINTR. -ENODEV, and @req
 * freed, while the module is being unloaded.
 */
static int vr_req_queue(struct genl_info *info, struct vr_req *req)
{
	if (vr_run_ordered(&req->work))
		return -EINTR;
	vr_req_free(req);
	NL_SET_ERR_MSG(info->extack, "vfio_reserve is being unloaded");
	return -ENODEV;
}

static void vr_req_work(struct work_struct *work)
{
	struct vr_req *req = container_of(work, struct vr_req, work);
	u32 portid = NETLINK_CB(req->skb).portid, seq = req->nlh->nlmsg_seq;
	struct netlink_ext_ack *extack = &req->extack;
	int ret = 0;

	if (req->cmd == VFIO_RESERVE_CMD_DEVICE_CLAIM)
		ret = vr_claim(req->pdev, extack);
	else if (req->cmd == VFIO_RESERVE_CMD_DEVICE_RELEASE)
		ret = vr_release(req->pdev, extack);
	else
		vr_rules_apply();
	if (!ret && req->pdev)
		ret = vr_fill_dev_with(req->msg, req->pdev, req->f, portid, seq,
				       0, req->cmd);
	else if (!ret)
		ret = vr_fill_count(req->msg, portid, seq, req->cmd, req->count);
	if (!ret) {
		/* On the socket netlink_ack() uses: genl's own, in init_net. */
		nlmsg_unicast(req->skb->sk, req->msg, portid);
		req->msg = NULL;
	} else {
		NL_SET_BAD_ATTR(extack, req->attr);
	}
	if (ret || (req->nlh->nlmsg_flags & NLM_F_ACK))
		netlink_ack(req->skb, req->nlh, ret, extack);
	vr_req_free(req);
}

/*
 * GET, CLAIM and RELEASE of one device. The reply is allocated before
 * anything changes: a request that fails for want of memory has changed
 * nothing, and one that changed something has its answer. CLAIM and
 * RELEASE are answered from the ordered queue.
 */
/*
 * Writes take PCI devices from their drivers: they need CAP_SYS_ADMIN as
 * well as the CAP_NET_ADMIN of GENL_ADMIN_PERM, which containers on the
 * host's network and network daemons may hold. Reads stay open.
 */
static int vr_nl_may_write(struct sk_buff *skb, struct genl_info *info)
{
	if (netlink_capable(skb, CAP_SYS_ADMIN))
		return 0;
	GENL_SET_ERR_MSG(info, "writes need CAP_SYS_ADMIN");
	return -EPERM;
}

static int vr_nl_dev_doit(struct sk_buff *skb, struct genl_info *info)
{
	bool write = info->genlhdr->cmd != VFIO_RESERVE_CMD_DEVICE_GET;
	struct pci_dev *pdev;
	struct sk_buff *msg;
	struct vr_facts *f;
	struct vr_req *req;
	int ret = -ENOMEM;

	if (write && vr_nl_may_write(skb, info))
		return -EPERM;
	pdev = vr_nl_device(info);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	if (write) {
		req = vr_req_new(skb, info,
				 info->attrs[VFIO_RESERVE_A_DEV_ADDR], true);
		if (!req) {
			pci_dev_put(pdev);
			return -ENOMEM;
		}
		req->pdev = pdev;
		return vr_req_queue(info, req);
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	f = kmalloc_obj(*f, GFP_KERNEL);
	if (msg && f)
		ret = vr_nl_send_dev(info, msg, f, pdev);
	else
		nlmsg_free(msg);
	kfree(f);
	pci_dev_put(pdev);
	return ret;
}

/* The first function in the group @data->key names, into @data->pdev. */
static int vr_group_match(struct device *dev, void *data)
{
	struct vr_entry *find = data;
	u64 key;

	if (vr_group_key(to_pci_dev(dev), &key) || key != find->key)
		return 0;
	find->pdev = pci_dev_get(to_pci_dev(dev));
	return 1;
}

static int vr_nl_group_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vr_entry find = { };
	struct pci_dev *found;
	struct sk_buff *msg;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VFIO_RESERVE_A_GROUP_ID))
		return -EINVAL;
	find.key = nla_get_u32(info->attrs[VFIO_RESERVE_A_GROUP_ID]);
	vr_for_each_pci_dev(&find, vr_group_match);
	found = find.pdev;
	if (!found) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[VFIO_RESERVE_A_GROUP_ID],
				    "no IOMMU group with this id holds a PCI function");
		return -ENOENT;
	}
	msg = genlmsg_new(vr_group_size(found), GFP_KERNEL);
	ret = msg ? vr_fill_group(msg, found, info->snd_portid,
				  info->snd_seq, 0) : -ENOMEM;
	pci_dev_put(found);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int vr_nl_status_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vr_config config;
	struct sk_buff *msg;
	struct vr_totals t;
	void *hdr;

	vr_totals_get(&t);
	vr_reservation_count(&t);
	vr_config_get(&config);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vr_family, 0,
				VFIO_RESERVE_CMD_STATUS_GET);
	if (!hdr ||
	    nla_put_string(msg, VFIO_RESERVE_A_STATUS_VERSION, VR_VERSION) ||
	    nla_put_u8(msg, VFIO_RESERVE_A_STATUS_IOMMU, t.iommu) ||
	    nla_put_u8(msg, VFIO_RESERVE_A_STATUS_INTR_REMAP, t.intr_remap) ||
	    nla_put_string(msg, VFIO_RESERVE_A_STATUS_RECLAIM,
			   vr_reclaim_name(config.reclaim)) ||
	    nla_put_u8(msg, VFIO_RESERVE_A_STATUS_DRY_RUN, config.dry_run) ||
	    nla_put_u32(msg, VFIO_RESERVE_A_STATUS_RULES, vr_rules_count()) ||
	    nla_put_u32(msg, VFIO_RESERVE_A_STATUS_RESERVED, t.reserved) ||
	    nla_put_u32(msg, VFIO_RESERVE_A_STATUS_PENDING, t.pending) ||
	    nla_put_u32(msg, VFIO_RESERVE_A_STATUS_TARGET_FAILED,
			t.target_failed) ||
	    vr_put_str(msg, VFIO_RESERVE_A_STATUS_CONFIG_ERROR,
		       vr_config_error)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int vr_nl_rule_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vr_dump_ctx *ctx = (struct vr_dump_ctx *)cb->ctx;
	char text[VR_SEL_TEXT_SIZE];
	struct vr_rule r;
	void *hdr;

	/*
	 * Rules are few: resume after the id of the last one sent, so a
	 * RULE_DEL or RULE_ADD between two parts neither repeats nor skips a
	 * rule that stays.
	 */
	while (vr_rule_get(ctx->next, &r)) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vr_family, NLM_F_MULTI,
				  VFIO_RESERVE_CMD_RULE_GET);
		if (!hdr)
			break;
		vr_sel_format(&r.sel, text, sizeof(text));
		if (nla_put_string(skb, VFIO_RESERVE_A_RULE_SELECTOR, text) ||
		    nla_put_u8(skb, VFIO_RESERVE_A_RULE_ORIGIN, r.origin)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		ctx->next = r.id + 1;
	}
	return skb->len;
}

/* RULE_ADD's reservations are made, and answered, on the ordered queue. */
static int vr_nl_rule_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[VFIO_RESERVE_A_RULE_SELECTOR_LIST];
	bool add = info->genlhdr->cmd == VFIO_RESERVE_CMD_RULE_ADD;
	struct vr_sel_error err = { };
	struct vr_req *req;
	int ret;

	if (vr_nl_may_write(skb, info))
		return -EPERM;
	if (GENL_REQ_ATTR_CHECK(info, VFIO_RESERVE_A_RULE_SELECTOR_LIST))
		return -EINVAL;
	if (!*(char *)nla_data(attr)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "an empty selector list selects nothing");
		return -EINVAL;
	}
	/* Allocated first: a failure for want of memory changes nothing. */
	req = vr_req_new(skb, info, attr, false);
	if (!req)
		return -ENOMEM;
	ret = add ? vr_rules_add(nla_data(attr), VFIO_RESERVE_ORIGIN_USER,
				 &err) :
		    vr_rules_del(nla_data(attr), &err);
	if (ret == -EINVAL)
		vr_extack_selector(info->extack, attr, &err);
	else if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "no such rule (list them with RULE_GET); nothing removed");
	else if (ret == -ENOSPC)
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "too many rules; nothing added");
	if (ret < 0)
		goto out;
	req->count = ret;
	if (add && ret)
		return vr_req_queue(info, req);
	ret = vr_fill_count(req->msg, info->snd_portid, info->snd_seq,
			    req->cmd, req->count);
	if (!ret) {
		ret = genlmsg_reply(req->msg, info);
		req->msg = NULL;
	}
out:
	vr_req_free(req);
	return ret;
}

static const struct nla_policy vr_dev_policy[VFIO_RESERVE_A_DEV_ADDR + 1] = {
	[VFIO_RESERVE_A_DEV_ADDR] = { .type = NLA_NUL_STRING,
				      .len = VFIO_RESERVE_ADDR_SIZE - 1 },
};

static const struct nla_policy vr_group_policy[VFIO_RESERVE_A_GROUP_ID + 1] = {
	[VFIO_RESERVE_A_GROUP_ID] = { .type = NLA_U32 },
};

/* Requests carry a list; SELECTOR (one, in replies) is refused in them. */
static const struct nla_policy vr_rule_policy[VFIO_RESERVE_A_RULE_SELECTOR_LIST + 1] = {
	[VFIO_RESERVE_A_RULE_SELECTOR_LIST] = {
		.type = NLA_NUL_STRING,
		.len = VFIO_RESERVE_SELECTOR_LIST_MAX - 1,
	},
};

static const struct genl_ops vr_ops[] = {
	{
		.cmd = VFIO_RESERVE_CMD_STATUS_GET,
		.doit = vr_nl_status_doit,
	},
	{
		.cmd = VFIO_RESERVE_CMD_DEVICE_GET,
		.doit = vr_nl_dev_doit,
		.dumpit = vr_nl_dev_dumpit,
		.done = vr_nl_dump_done,
		.policy = vr_dev_policy,
		.maxattr = ARRAY_SIZE(vr_dev_policy) - 1,
	},
	{
		.cmd = VFIO_RESERVE_CMD_GROUP_GET,
		.doit = vr_nl_group_doit,
		.start = vr_nl_group_start,
		.dumpit = vr_nl_group_dumpit,
		.done = vr_nl_dump_done,
		.policy = vr_group_policy,
		.maxattr = ARRAY_SIZE(vr_group_policy) - 1,
	},
	{
		.cmd = VFIO_RESERVE_CMD_RULE_GET,
		.dumpit = vr_nl_rule_dumpit,
	},
	{
		.cmd = VFIO_RESERVE_CMD_RULE_ADD,
		.doit = vr_nl_rule_doit,
		.policy = vr_rule_policy,
		.maxattr = ARRAY_SIZE(vr_rule_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VFIO_RESERVE_CMD_RULE_DEL,
		.doit = vr_nl_rule_doit,
		.policy = vr_rule_policy,
		.maxattr = ARRAY_SIZE(vr_rule_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VFIO_RESERVE_CMD_DEVICE_CLAIM,
		.doit = vr_nl_dev_doit,
		.policy = vr_dev_policy,
		.maxattr = ARRAY_SIZE(vr_dev_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VFIO_RESERVE_CMD_DEVICE_RELEASE,
		.doit = vr_nl_dev_doit,
		.policy = vr_dev_policy,
		.maxattr = ARRAY_SIZE(vr_dev_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group vr_mcgrps[] = {
	{ .name = VFIO_RESERVE_MCGRP_EVENTS },
};

static struct genl_family vr_family __ro_after_init = {
	.name = VFIO_RESERVE_FAMILY_NAME,
	.version = VFIO_RESERVE_FAMILY_VERSION,
	.module = THIS_MODULE,
	.ops = vr_ops,
	.n_ops = ARRAY_SIZE(vr_ops),
	.mcgrps = vr_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vr_mcgrps),
	.parallel_ops = true,
	.netnsok = false,
};

/**
 * vr_nl_event() - tell the "events" group about a device
 * @kind: what happened
 * @pdev: to which device
 * @driver: the driver involved, or NULL
 * @rule: the rule involved, or NULL
 *
 * Built only when someone listens. The module's vr_event_fn (reserve.h):
 * never called with a lock of the module held.
 */
void vr_nl_event(enum vfio_reserve_event kind, struct pci_dev *pdev,
		 const char *driver, const char *rule)
{
	struct sk_buff *msg;
	void *hdr;

	if (!READ_ONCE(vr_nl_ready) ||
	    !genl_has_listeners(&vr_family, &init_net, 0))
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &vr_family, 0, VFIO_RESERVE_CMD_EVENT);
	if (!hdr ||
	    nla_put_u8(msg, VFIO_RESERVE_A_EVENT_KIND, kind) ||
	    nla_put_string(msg, VFIO_RESERVE_A_EVENT_ADDR, pci_name(pdev)) ||
	    (driver && nla_put_string(msg, VFIO_RESERVE_A_EVENT_DRIVER,
				      driver)) ||
	    (rule && nla_put_string(msg, VFIO_RESERVE_A_EVENT_RULE, rule))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&vr_family, msg, 0, 0, GFP_KERNEL);
}

int __init vr_nl_init(void)
{
	int ret = genl_register_family(&vr_family);

	if (!ret)
		WRITE_ONCE(vr_nl_ready, true);
	return ret;
}

void vr_nl_exit(void)
{
	WRITE_ONCE(vr_nl_ready, false);
	genl_unregister_family(&vr_family);
}
