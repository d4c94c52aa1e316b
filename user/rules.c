// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * rules, add, remove: the module's run-time rule set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-reserve.h"

int vr_cmd_rules(const struct vr_opts *o, int argc, char **argv)
{
	struct vr_facts f;
	struct vr_json j;
	size_t i;
	int ret;

	(void)argv;
	if (argc > 1)
		return vr_usage_error("rules", "no arguments expected");
	ret = vr_nl_fetch("rules", VR_WANT_RULES, &f);
	if (ret)
		return ret;
	if (o->json) {
		vr_json_begin(&j, o, "rules", "rules");
		for (i = 0; i < f.nr; i++) {
			vr_json_open(&j, NULL, '{');
			vr_json_str(&j, "selector", f.rules[i].selector);
			vr_json_str(&j, "origin",
				    f.rules[i].origin == VFIO_RESERVE_ORIGIN_PARAM ?
				    "parameter" : "runtime");
			vr_json_close(&j, '}');
		}
		vr_json_end(&j);
	} else {
		if (!f.nr)
			printf("no rules\n");
		for (i = 0; i < f.nr; i++)
			printf("%-24s  %s\n", f.rules[i].selector,
			       f.rules[i].origin == VFIO_RESERVE_ORIGIN_PARAM ?
			       "devices= parameter" : "added at run time");
	}
	vr_facts_free(&f);
	return VR_EXIT_OK;
}

static int vr_rule_change(const struct vr_opts *o, const char *cmd,
			  int argc, char **argv)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	bool add = !strcmp(cmd, "add");
	struct vr_sel_error err;
	char msg[256];
	char joined[VFIO_RESERVE_SELECTOR_LIST_MAX];
	struct vr_nl nl;
	uint32_t count;
	int nsels, ret;

	if (argc < 2)
		return vr_usage_error(cmd, "which selectors?");
	ret = vr_parse_selectors(cmd, argc - 1, argv + 1, sels, &nsels, joined,
				 sizeof(joined));
	if (ret)
		return ret;
	/* add resolves @auto here; remove names the rule as the module has it */
	if (add) {
		ret = vr_auto_resolve(o, cmd, sels, nsels);
		if (!ret && vr_sels_join(sels, nsels, joined, sizeof(joined)))
			ret = vr_usage_error(cmd, "selector list too long");
		if (ret)
			return ret;
	}
	if (vr_sel_list_named(joined, sels, nsels, &err)) {
		vr_sel_format_error(&err, msg, sizeof(msg));
		return vr_usage_error(cmd, "%s", msg);
	}
	if (add) {
		ret = vr_list_safety(o, cmd, sels, nsels);
		if (ret)
			return ret;
	}
	ret = add ? vr_nl_open_write(&nl) : vr_nl_open(&nl);
	if (ret)
		return vr_nl_fail(NULL, cmd, ret);
	ret = vr_nl_rule_change(&nl, add ? VFIO_RESERVE_CMD_RULE_ADD :
				VFIO_RESERVE_CMD_RULE_DEL, joined, &count);
	if (ret)
		ret = vr_nl_fail(&nl, cmd, ret);
	vr_nl_close(&nl);
	if (ret)
		return ret;
	printf("%s %u rule%s (%s)\n", add ? "added" : "removed", count,
	       count == 1 ? "" : "s", joined);
	return VR_EXIT_OK;
}

int vr_cmd_add(const struct vr_opts *o, int argc, char **argv)
{
	return vr_rule_change(o, "add", argc, argv);
}

int vr_cmd_remove(const struct vr_opts *o, int argc, char **argv)
{
	return vr_rule_change(o, "remove", argc, argv);
}
