// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * --json for the commands that change things (add, claim, sriov, ...):
 * what changed, per device. The devices are read before and after the
 * command (from the module when it is loaded, else from sysfs); the
 * command's own messages go to stderr meanwhile, the JSON to stdout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio-reserve.h"

/* Every device as it is now, quietly: the module's view, else sysfs's. */
static void vr_snapshot(const struct vr_opts *o, struct vr_facts *f,
			bool *module)
{
	struct vr_nl nl;

	memset(f, 0, sizeof(*f));
	*module = false;
	if (!vr_nl_open(&nl)) {
		*module = !vr_nl_devices(&nl, &f->devs, &f->n);
		vr_nl_close(&nl);
	}
	if (!*module && vr_sysfs_devices(o, &f->devs, &f->n))
		f->n = 0;
}

static bool vr_same(const struct vr_device *a, const struct vr_device *b)
{
	return !strcmp(a->driver, b->driver) &&
	       !strcmp(a->override, b->override) && a->state == b->state &&
	       !strcmp(a->target, b->target) && a->in_use == b->in_use;
}

static void vr_json_side(struct vr_json *j, const char *key,
			 const struct vr_device *d, bool module)
{
	if (!d) {
		vr_json_null(j, key);	/* absent: appeared or went */
		return;
	}
	vr_json_open(j, key, '{');
	vr_json_opt_str(j, "driver", d->driver);
	vr_json_opt_str(j, "driver_override", d->override);
	if (module) {
		vr_json_str(j, "state", d->state ? vr_state_name(d->state) : "none");
		vr_json_opt_str(j, "target", d->target);
		vr_json_bool(j, "in_use", d->in_use);
	}
	vr_json_close(j, '}');
}

static void vr_json_change(struct vr_json *j, const char *addr,
			   const struct vr_device *a,
			   const struct vr_device *b, bool module)
{
	vr_json_open(j, NULL, '{');
	vr_json_str(j, "address", addr);
	vr_json_side(j, "before", a, module);
	vr_json_side(j, "after", b, module);
	vr_json_close(j, '}');
}

int vr_run_changes(const struct vr_cmd *c, const struct vr_opts *o,
		   int argc, char **argv)
{
	struct vr_facts before, after;
	bool mod_before, mod_after, module;
	const struct vr_device *a, *b;
	struct vr_json j;
	int ret, saved;
	size_t i;

	vr_snapshot(o, &before, &mod_before);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		vr_err("%s: cannot set stdout aside for the JSON: %s", c->name,
		       strerror(errno));
		if (saved >= 0)
			close(saved);
		vr_facts_free(&before);
		return VR_EXIT_USAGE;
	}
	ret = c->fn(o, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	vr_snapshot(o, &after, &mod_after);
	/* states compare only when both views are the module's */
	module = mod_before && mod_after;
	vr_json_begin(&j, o, c->name, NULL);
	vr_json_int(&j, "exit_code", ret);
	vr_json_bool(&j, "module", module);
	vr_json_open(&j, "changes", '[');
	for (i = 0; i < before.n; i++) {
		a = &before.devs[i];
		b = vr_find_device(after.devs, after.n, a->addr);
		if (!b || (module ? !vr_same(a, b) :
			   strcmp(a->driver, b->driver) ||
			   strcmp(a->override, b->override)))
			vr_json_change(&j, a->addr, a, b, module);
	}
	for (i = 0; i < after.n; i++)
		if (!vr_find_device(before.devs, before.n, after.devs[i].addr))
			vr_json_change(&j, after.devs[i].addr, NULL,
				       &after.devs[i], module);
	if (vr_json_end(&j) && !ret)
		ret = VR_EXIT_USAGE;
	vr_facts_free(&before);
	vr_facts_free(&after);
	return ret;
}
