// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * JSON output through json-c, and the one JSON form of a device (the
 * schema is documented in vfio-reserve(8)).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-reserve.h"

/*
 * The document is built as a json-c tree and printed whole by
 * vr_json_end(): json-c escapes every string, and nothing is cut or
 * clamped. @stack holds the open containers, innermost last.
 */
/* A document for stdout, pretty-printed with --pretty. */
void vr_json_init(struct vr_json *j, const struct vr_opts *o)
{
	memset(j, 0, sizeof(*j));
	j->f = stdout;
	j->pretty = o->pretty;
}

/*
 * Every command's JSON is one object: the schema's version, the command,
 * then its payload under @key (an array); vr_json_end() closes them.
 */
void vr_json_begin(struct vr_json *j, const struct vr_opts *o,
		   const char *cmd, const char *key)
{
	vr_json_init(j, o);
	vr_json_open(j, NULL, '{');
	vr_json_int(j, "schema_version", VR_JSON_SCHEMA);
	vr_json_str(j, "command", cmd);
	if (key)
		vr_json_open(j, key, '[');
}

/* Add @val (a new reference) to the innermost container, under @key. */
static void vr_json_add(struct vr_json *j, const char *key,
			struct json_object *val, bool null)
{
	struct json_object *parent;
	int ret;

	if (!val && !null) {
		j->oom = true;
		return;
	}
	if (!j->depth) {
		json_object_put(j->root);
		j->root = val;
		return;
	}
	parent = j->stack[j->depth - 1];
	if (!parent)	/* a container that could not be made */
		ret = -1;
	else if (json_object_is_type(parent, json_type_array))
		ret = json_object_array_add(parent, val);
	else
		ret = json_object_object_add(parent, key ? key : "", val);
	if (ret) {
		json_object_put(val);
		j->oom = true;
	}
}

/* Open an object ('{') or array ('['), as the value of @key if any. */
void vr_json_open(struct vr_json *j, const char *key, char bracket)
{
	struct json_object *c = bracket == '[' ? json_object_new_array() :
				json_object_new_object();
	struct json_object **grown;

	if (j->depth == j->cap) {
		grown = realloc(j->stack, (j->cap + 8) * sizeof(*grown));
		if (!grown) {
			json_object_put(c);
			j->oom = true;
			j->lost++;	/* its close must not pop */
			return;
		}
		j->stack = grown;
		j->cap += 8;
	}
	/* the parent holds one reference, the stack another */
	vr_json_add(j, key, c ? json_object_get(c) : NULL, false);
	j->stack[j->depth++] = c;
}

void vr_json_close(struct vr_json *j, char bracket)
{
	(void)bracket;
	if (j->lost)
		j->lost--;
	else if (j->depth)
		json_object_put(j->stack[--j->depth]);
}

void vr_json_str(struct vr_json *j, const char *key, const char *val)
{
	vr_json_add(j, key, json_object_new_string(val), false);
}

void vr_json_int(struct vr_json *j, const char *key, long long val)
{
	vr_json_add(j, key, json_object_new_int64(val), false);
}

void vr_json_bool(struct vr_json *j, const char *key, bool val)
{
	vr_json_add(j, key, json_object_new_boolean(val), false);
}

void vr_json_null(struct vr_json *j, const char *key)
{
	vr_json_add(j, key, NULL, true);
}

/* Print the document on one line; -ENOMEM (said on stderr) when it is incomplete. */
int vr_json_end(struct vr_json *j)
{
	int ret = 0;

	while (j->depth)
		json_object_put(j->stack[--j->depth]);
	free(j->stack);
	j->stack = NULL;
	j->cap = 0;
	if (j->oom || !j->root) {
		vr_err("out of memory: no JSON output");
		ret = -ENOMEM;
	} else {
		fprintf(j->f, "%s\n", json_object_to_json_string_ext(j->root,
			(j->pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
			JSON_C_TO_STRING_NOSLASHESCAPE));
		fflush(j->f);
	}
	json_object_put(j->root);
	j->root = NULL;
	return ret;
}

/* @val, or null when there is none (NULL or ""). */
void vr_json_opt_str(struct vr_json *j, const char *key, const char *val)
{
	if (val && val[0])
		vr_json_str(j, key, val);
	else
		vr_json_null(j, key);
}

/* A space separated list as an array of strings, each whole. */
static void vr_json_words(struct vr_json *j, const char *key, const char *list)
{
	const char *p = list + strspn(list, " ");
	size_t n;

	vr_json_open(j, key, '[');
	while (*p) {
		n = strcspn(p, " ");
		vr_json_add(j, NULL, json_object_new_string_len(p, (int)n), false);
		p += n;
		p += strspn(p, " ");
	}
	vr_json_close(j, ']');
}

/* What the host has on a device (vr_device_uses()), in its object. */
void vr_json_uses(struct vr_json *j, const struct vr_uses *u)
{
	vr_json_words(j, "netdevs", u->netdevs);
	vr_json_words(j, "block_devices", u->blocks);
	vr_json_bool(j, "active", u->active);
	vr_json_opt_str(j, "active_why", u->active ? u->why : NULL);
	vr_json_opt_str(j, "held_by", u->holders);
}

void vr_json_device(struct vr_json *j, const struct vr_device *d,
		    const struct vr_uses *u)
{
	char buf[16];

	vr_json_open(j, NULL, '{');
	vr_json_str(j, "address", d->addr);
	snprintf(buf, sizeof(buf), "%04x", d->vendor);
	vr_json_str(j, "vendor", buf);
	snprintf(buf, sizeof(buf), "%04x", d->device);
	vr_json_str(j, "device", buf);
	snprintf(buf, sizeof(buf), "%04x", d->subvendor);
	vr_json_str(j, "subsystem_vendor", buf);
	snprintf(buf, sizeof(buf), "%04x", d->subdevice);
	vr_json_str(j, "subsystem_device", buf);
	snprintf(buf, sizeof(buf), "%06x", d->class);
	vr_json_str(j, "class", buf);
	vr_json_opt_str(j, "driver", d->driver);
	vr_json_opt_str(j, "driver_override", d->override);
	/* the module's facts: null when it is not loaded (sysfs_only) */
	if (d->sysfs_only)
		vr_json_null(j, "state");
	else
		vr_json_str(j, "state", d->state ? vr_state_name(d->state) : "none");
	vr_json_opt_str(j, "rule", d->rule);
	vr_json_opt_str(j, "previous_driver", d->prev_driver);
	vr_json_opt_str(j, "target", d->target);
	vr_json_opt_str(j, "target_error",
			d->target_err == VFIO_RESERVE_TARGET_ERROR_MISSING ? "missing" :
			d->target_err ? "not-vfio" : "");
	if (d->has_group)
		vr_json_int(j, "iommu_group", d->group);
	else
		vr_json_null(j, "iommu_group");
	if (d->sysfs_only)
		vr_json_null(j, "interrupt_remapping");
	else
		vr_json_bool(j, "interrupt_remapping", d->intr_remap);
	vr_json_bool(j, "in_use", d->in_use);
	vr_json_bool(j, "vfio_open", d->vfio_open);
	vr_json_opt_str(j, "vfio_cdev", d->vfio_cdev);
	if (d->sysfs_only || !d->has_group)
		vr_json_null(j, "msi_isolated");
	else
		vr_json_bool(j, "msi_isolated", d->msi_isolated);
	vr_json_bool(j, "bridge", d->bridge);
	vr_json_words(j, "reset_methods", d->reset);
	if (d->is_pf) {
		vr_json_open(j, "sriov", '{');
		vr_json_str(j, "role", "pf");
		vr_json_int(j, "total_vfs", d->totalvfs);
		vr_json_int(j, "num_vfs", d->numvfs);
		vr_json_close(j, '}');
	} else if (d->pf_addr[0]) {
		vr_json_open(j, "sriov", '{');
		vr_json_str(j, "role", "vf");
		vr_json_str(j, "pf", d->pf_addr);
		vr_json_close(j, '}');
	} else {
		vr_json_null(j, "sriov");
	}
	vr_json_uses(j, u);
	vr_json_close(j, '}');
}
