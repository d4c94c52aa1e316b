// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * list, groups: what the module knows of every PCI function and group.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "vfio-reserve.h"

/* The matcher's view of a device the module reported. */
void vr_device_ids(const struct vr_device *d, struct vr_pci_ids *id)
{
	unsigned int dom = 0, bus = 0, slot = 0, func = 0;

	memset(id, 0, sizeof(*id));
	sscanf(d->addr, "%x:%x:%x.%x", &dom, &bus, &slot, &func);
	id->domain = dom;
	id->bus = (u8)bus;
	id->slot = (u8)slot;
	id->func = (u8)func;
	id->vendor = d->vendor;
	id->device = d->device;
	id->subvendor = d->subvendor;
	id->subdevice = d->subdevice;
	id->class = d->class;
	if (d->pf_addr[0]) {
		id->is_vf = true;
		sscanf(d->pf_addr, "%x:%x:%x.%x", &dom, &bus, &slot, &func);
		id->pf_domain = dom;
		id->pf_bus = (u8)bus;
		id->pf_slot = (u8)slot;
		id->pf_func = (u8)func;
	}
}

/*
 * Normalize every address into @addrs (room for @argc), checking them all
 * before anything is changed; the exit code, a usage error said.
 */
int vr_parse_addrs(const char *cmd, int argc, char **argv,
			  char (*addrs)[VR_ADDR_SIZE])
{
	int i;

	if (argc < 1)
		return vr_usage_error(cmd, "which devices? (addresses like 0000:03:00.0)");
	for (i = 0; i < argc; i++)
		if (!vr_normalize_addr(argv[i], addrs[i]))
			return vr_usage_error(cmd, "'%s' is not a PCI address ([dddd:]bb:ss.f)",
					      argv[i]);
	return VR_EXIT_OK;
}

/* Parse the command's selectors (joined) into @sels; exit code on error. */
int vr_parse_selectors(const char *cmd, int argc, char **argv,
		       struct vr_selector *sels, int *n, char *joined,
		       size_t size)
{
	struct vr_sel_error err;
	char msg[256];
	size_t len = 0;
	int i;

	joined[0] = '\0';
	for (i = 0; i < argc; i++) {
		len += (size_t)snprintf(joined + len, len < size ? size - len : 0,
					"%s%s", i ? "," : "", argv[i]);
		if (len >= size)
			return vr_usage_error(cmd, "selector list too long");
	}
	*n = vr_sel_parse_list(joined, sels, VR_SEL_LIST_MAX, &err);
	if (!*n)
		return vr_usage_error(cmd, "an empty selector list selects nothing");
	if (*n < 0) {
		vr_sel_format_error(&err, msg, sizeof(msg));
		return vr_usage_error(cmd, "bad selector list '%s': %s", joined,
				      msg);
	}
	return VR_EXIT_OK;
}

static void vr_sriov_text(const struct vr_device *d, char *buf, size_t size)
{
	if (d->is_pf)
		snprintf(buf, size, "pf %u/%u", d->numvfs, d->totalvfs);
	else if (d->pf_addr[0])
		snprintf(buf, size, "vf of %s", d->pf_addr);
	else
		snprintf(buf, size, "-");
}

/* A space separated list with commas: the table's columns have no spaces. */
static void vr_commas(char *s)
{
	for (; *s; s++)
		if (*s == ' ')
			*s = ',';
}

/* dpdk-devbind's way: " if=eth0,eth1 block=sda *Active*" */
static void vr_uses_text(const struct vr_uses *u, char *buf, size_t size)
{
	char net[sizeof(u->netdevs)], blk[sizeof(u->blocks)];

	snprintf(net, sizeof(net), "%s", u->netdevs);
	snprintf(blk, sizeof(blk), "%s", u->blocks);
	vr_commas(net);
	vr_commas(blk);
	snprintf(buf, size, "%s%s%s%s%s%s%s", net[0] ? " if=" : "", net,
		 blk[0] ? " block=" : "", blk, u->active ? " *Active*" : "",
		 u->holders[0] ? " held by " : "", u->holders);
}

static void vr_print_device(const struct vr_opts *o, const struct vr_device *d,
			    const struct vr_uses *u)
{
	char grp[16], sriov[40], reset[VR_NAME_SIZE], name[512], uses[1600];
	char target[VR_NAME_SIZE + 2];

	snprintf(grp, sizeof(grp), d->has_group ? "%u" : "-", d->group);
	vr_sriov_text(d, sriov, sizeof(sriov));
	snprintf(reset, sizeof(reset), "%s", d->reset[0] ? d->reset : "-");
	vr_commas(reset);
	/* a target that cannot have the device is marked with a '!' */
	snprintf(target, sizeof(target), "%s%s", d->sysfs_only ? "?" :
		 d->target[0] ? d->target : "-", d->target_err ? "!" : "");
	vr_uses_text(u, uses, sizeof(uses));
	/* the name whole, as lspci -nn prints it; then what the host has on it */
	printf("%-12s  %-14s  %-8s  %-14s  %-5s  %-6s  %-10s  %-14s  %s%s\n",
	       d->addr, d->driver[0] ? d->driver : "-",
	       d->bridge ? "bridge" : d->sysfs_only ? "?" : vr_state_name(d->state),
	       target, grp,
	       d->in_use ? "yes" : "no", reset, sriov,
	       vr_device_name(o, d, name, sizeof(name)), uses);
}

int vr_cmd_list(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	char joined[2048];
	struct vr_pci_ids id;
	struct vr_uses u;
	struct vr_facts f;
	struct vr_json j;
	size_t i;
	int nsels = 0, ret;

	if (argc > 1) {
		ret = vr_parse_selectors("list", argc - 1, argv + 1, sels,
					 &nsels, joined, sizeof(joined));
		if (ret)
			return ret;
	}
	ret = vr_read_facts(o, "list", VR_WANT_DEVICES, &f);
	if (ret)
		return ret;
	if (o->json) {
		vr_json_begin(&j, o, "list", NULL);
		vr_json_bool(&j, "module", !f.sysfs);
		vr_json_open(&j, "devices", '[');
	} else {
		printf("%-12s  %-14s  %-8s  %-14s  %-5s  %-6s  %-10s  %-14s  %s\n",
		       "ADDRESS", "DRIVER", "STATE", "TARGET", "GROUP", "IN-USE",
		       "RESET", "SR-IOV", "DEVICE");
	}
	for (i = 0; i < f.n; i++) {
		vr_device_ids(&f.devs[i], &id);
		if (nsels && vr_sel_list_match(sels, (unsigned int)nsels,
					       &id) < 0)
			continue;
		vr_device_uses(o, f.devs[i].addr, &u);
		if (o->json)
			vr_json_device(&j, &f.devs[i], &u);
		else
			vr_print_device(o, &f.devs[i], &u);
	}
	if (o->json)
		vr_json_end(&j);
	vr_facts_free(&f);
	return VR_EXIT_OK;
}

static void vr_print_group(const struct vr_group *g)
{
	unsigned int i;

	printf("group %u: %s%s\n", g->id, g->viable ? "viable" : "NOT viable",
	       g->in_use ? ", in use by a VFIO user" : "");
	for (i = 0; i < g->n; i++) {
		const struct vr_member *m = &g->members[i];

		printf("  %-12s  %-14s%s\n", m->addr,
		       m->driver[0] ? m->driver : "-",
		       m->blocks ? "  blocks: its driver uses the kernel's DMA API (claim it or unbind it)" :
		       "");
	}
}

static void vr_json_group(struct vr_json *j, const struct vr_group *g)
{
	unsigned int i;

	vr_json_open(j, NULL, '{');
	vr_json_int(j, "group", g->id);
	vr_json_bool(j, "viable", g->viable);
	vr_json_bool(j, "in_use", g->in_use);
	vr_json_open(j, "members", '[');
	for (i = 0; i < g->n; i++) {
		vr_json_open(j, NULL, '{');
		vr_json_str(j, "address", g->members[i].addr);
		vr_json_opt_str(j, "driver", g->members[i].driver);
		vr_json_bool(j, "blocks", g->members[i].blocks);
		vr_json_close(j, '}');
	}
	vr_json_close(j, ']');
	vr_json_close(j, '}');
}

int vr_cmd_groups(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_facts f;
	struct vr_json j;
	size_t i;
	int ret;

	(void)argv;
	if (argc > 1)
		return vr_usage_error("groups", "no arguments expected");
	ret = vr_read_facts(o, "groups", VR_WANT_GROUPS, &f);
	if (ret)
		return ret;
	if (o->json) {
		vr_json_begin(&j, o, "groups", NULL);
		vr_json_bool(&j, "module", !f.sysfs);
		vr_json_open(&j, "groups", '[');
	}
	for (i = 0; i < f.ng; i++) {
		if (o->json)
			vr_json_group(&j, &f.groups[i]);
		else
			vr_print_group(&f.groups[i]);
	}
	if (o->json)
		vr_json_end(&j);
	vr_facts_free(&f);
	return VR_EXIT_OK;
}
