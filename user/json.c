// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * A small streaming JSON writer, and the one JSON form of a device (the
 * schema is documented in vfio-reserve(8)).
 */
#include <stdio.h>
#include <string.h>

#include "vfio-reserve.h"

void vr_json_init(struct vr_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
}

static void vr_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void vr_json_key(struct vr_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		vr_json_string(j->f, key);
		fputc(':', j->f);
	}
}

/* Open an object ('{') or array ('['), as the value of @key if any. */
void vr_json_open(struct vr_json *j, const char *key, char bracket)
{
	vr_json_key(j, key);
	fputc(bracket, j->f);
	if (j->depth < (int)sizeof(j->first) - 1)
		j->depth++;
	j->first[j->depth] = true;
}

void vr_json_close(struct vr_json *j, char bracket)
{
	if (j->depth)
		j->depth--;
	fputc(bracket, j->f);
}

void vr_json_str(struct vr_json *j, const char *key, const char *val)
{
	vr_json_key(j, key);
	vr_json_string(j->f, val);
}

void vr_json_int(struct vr_json *j, const char *key, long long val)
{
	vr_json_key(j, key);
	fprintf(j->f, "%lld", val);
}

void vr_json_bool(struct vr_json *j, const char *key, bool val)
{
	vr_json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void vr_json_null(struct vr_json *j, const char *key)
{
	vr_json_key(j, key);
	fputs("null", j->f);
}

void vr_json_end(struct vr_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

static void vr_json_opt_str(struct vr_json *j, const char *key,
			    const char *val)
{
	if (val[0])
		vr_json_str(j, key, val);
	else
		vr_json_null(j, key);
}

/* A space separated list as an array of strings. */
static void vr_json_words(struct vr_json *j, const char *key, const char *list)
{
	char word[VR_NAME_SIZE];
	const char *p = list;
	size_t n;

	vr_json_open(j, key, '[');
	while (*p) {
		n = strcspn(p, " ");
		if (n && n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			vr_json_str(j, NULL, word);
		}
		p += n;
		p += strspn(p, " ");
	}
	vr_json_close(j, ']');
}

void vr_json_device(struct vr_json *j, const struct vr_device *d)
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
	vr_json_bool(j, "interrupt_remapping", d->intr_remap);
	vr_json_bool(j, "in_use", d->in_use);
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
	vr_json_close(j, '}');
}
