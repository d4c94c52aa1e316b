// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Parser and matcher of the selector language (see selector.h and the
 * README's grammar). Strict and fail closed: a list with one bad token is
 * rejected whole, and the error names the token and where it stands.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The host build's stand-in for the kernel's hex_to_bin(). */
static int hex_to_bin(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}
#endif

#include "selector.h"

/*
 * Exactly @digits hex digits, nothing else. Not kstrtou32(): a token is a
 * slice of the list, not a string, and kstrto* take a "0x" prefix and a
 * trailing newline, while a field of a PCI address has a fixed width.
 */
static bool vr_parse_hex(const char *s, size_t len, size_t digits, u32 *val)
{
	size_t i;
	u32 v = 0;

	if (len != digits)
		return false;
	for (i = 0; i < len; i++) {
		int d = hex_to_bin((unsigned char)s[i]);

		if (d < 0)
			return false;
		v = (v << 4) | (u32)d;
	}
	*val = v;
	return true;
}

/* Hex of @min to @max digits, as a PCI domain is (the kernel writes %04x). */
static bool vr_parse_hex_var(const char *s, size_t len, size_t min,
			     size_t max, u32 *val)
{
	return len >= min && len <= max && vr_parse_hex(s, len, len, val);
}

static bool vr_is_star(const char *s, size_t len)
{
	return len == 1 && s[0] == '*';
}

/* Hex digits or '*' of @digits width, '*' meaning VR_SEL_ANY. */
static bool vr_parse_hex_or_any(const char *s, size_t len, size_t digits,
				u32 *val)
{
	if (vr_is_star(s, len)) {
		*val = VR_SEL_ANY;
		return true;
	}
	return vr_parse_hex(s, len, digits, val);
}

/* Split @s at @sep into at most @max fields; returns the count, 0 if more. */
static unsigned int vr_split(const char *s, size_t len, char sep,
			     const char **f, size_t *flen, unsigned int max)
{
	unsigned int n = 0;
	const char *end = s + len;

	for (;;) {
		const char *p = memchr(s, sep, (size_t)(end - s));
		const char *stop = p ? p : end;

		if (n == max)
			return 0;
		f[n] = s;
		flen[n] = (size_t)(stop - s);
		n++;
		if (!p)
			return n;
		s = p + 1;
	}
}

/* A slot or function: hex up to @max, or '*' when @wild. */
static bool vr_parse_part(const char *s, size_t len, bool wild, size_t digits,
			  u32 max, u32 *val)
{
	if (wild && vr_is_star(s, len)) {
		*val = VR_SEL_ANY;
		return true;
	}
	return vr_parse_hex(s, len, digits, val) && *val <= max;
}

/* [dddd:]bb:ss.f; ss and f may be '*' when @wild. */
static int vr_parse_addr(const char *s, size_t len, bool wild,
			 struct vr_selector *sel, const char **reason)
{
	const char *f[3], *dot, *fn;
	size_t fl[3], fnl;
	unsigned int n;

	dot = memchr(s, '.', len);
	if (!dot || memchr(dot + 1, '.', len - (size_t)(dot + 1 - s))) {
		*reason = "an address is [dddd:]bb:ss.f";
		return -EINVAL;
	}
	n = vr_split(s, (size_t)(dot - s), ':', f, fl, 3);
	if (n < 2) {
		*reason = "an address is [dddd:]bb:ss.f";
		return -EINVAL;
	}
	sel->domain = 0;
	if (n == 3 && !vr_parse_hex_var(f[0], fl[0], 4, 8, &sel->domain)) {
		*reason = "the domain must be 4 to 8 hex digits";
		return -EINVAL;
	}
	if (!vr_parse_hex(f[n - 2], fl[n - 2], 2, &sel->bus)) {
		*reason = vr_is_star(f[n - 2], fl[n - 2]) ?
			  "the bus cannot be '*'" :
			  "the bus must be 2 hex digits";
		return -EINVAL;
	}
	if (!vr_parse_part(f[n - 1], fl[n - 1], wild, 2, 0x1f, &sel->slot)) {
		*reason = wild ? "the slot must be 00-1f or '*'" :
				 "the slot must be 00-1f";
		return -EINVAL;
	}
	fn = dot + 1;
	fnl = len - (size_t)(fn - s);
	if (!vr_parse_part(fn, fnl, wild, 1, 7, &sel->func)) {
		*reason = wild ? "the function must be 0-7 or '*'" :
				 "the function must be 0-7";
		return -EINVAL;
	}
	return 0;
}

/* vvvv:dddd[:svvv:sddd] */
static int vr_parse_id(const char *s, size_t len, struct vr_selector *sel,
		       const char **reason)
{
	const char *f[4];
	size_t fl[4];
	unsigned int n;

	n = vr_split(s, len, ':', f, fl, 4);
	if (n == 3) {
		*reason = "neither [dddd:]bb:ss.f nor vvvv:dddd[:svvv:sddd]";
		return -EINVAL;
	}
	if (n != 2 && n != 4) {
		*reason = "ids are vvvv:dddd or vvvv:dddd:svvv:sddd";
		return -EINVAL;
	}
	if (!vr_parse_hex(f[0], fl[0], 4, &sel->vendor)) {
		*reason = vr_is_star(f[0], fl[0]) ?
			  "the vendor cannot be '*'" :
			  "the vendor must be 4 hex digits";
		return -EINVAL;
	}
	if (!vr_parse_hex_or_any(f[1], fl[1], 4, &sel->device)) {
		*reason = "the device must be 4 hex digits or '*'";
		return -EINVAL;
	}
	sel->subvendor = VR_SEL_ANY;
	sel->subdevice = VR_SEL_ANY;
	if (n == 4 &&
	    (!vr_parse_hex_or_any(f[2], fl[2], 4, &sel->subvendor) ||
	     !vr_parse_hex_or_any(f[3], fl[3], 4, &sel->subdevice))) {
		*reason = "subsystem ids must be 4 hex digits or '*'";
		return -EINVAL;
	}
	return 0;
}

static int vr_parse_class(const char *s, size_t len, struct vr_selector *sel,
			  const char **reason)
{
	if (vr_parse_hex(s, len, 4, &sel->class)) {
		sel->class <<= 8;
		sel->class_mask = 0xffff00;
		return 0;
	}
	if (vr_parse_hex(s, len, 6, &sel->class)) {
		sel->class_mask = 0xffffff;
		return 0;
	}
	*reason = "a class is 4 hex digits or 6 (with prog-if)";
	return -EINVAL;
}

/*
 * [dddd:]bb:ss.f#vvvv:dddd: one whole address, taken only while the device
 * there has these ids (a renumbered slot does not hand over whatever moved
 * onto it). An exclusion keeps the address whatever is there: never pinned.
 */
static int vr_parse_pinned(const char *s, size_t len, struct vr_selector *sel,
			   const char **reason)
{
	const char *hash = memchr(s, '#', len);
	size_t alen = (size_t)(hash - s), ilen = len - alen - 1;
	const char *f[2];
	size_t fl[2];

	sel->kind = VR_SEL_ADDR;
	if (sel->exclude) {
		*reason = "an exclusion cannot be pinned";
		return -EINVAL;
	}
	if (vr_parse_addr(s, alen, false, sel, reason))
		return -EINVAL;
	if (vr_split(hash + 1, ilen, ':', f, fl, 2) != 2 ||
	    !vr_parse_hex(f[0], fl[0], 4, &sel->vendor) ||
	    !vr_parse_hex(f[1], fl[1], 4, &sel->device)) {
		*reason = "a pinned address is [dddd:]bb:ss.f#vvvv:dddd";
		return -EINVAL;
	}
	sel->pinned = true;
	return 0;
}

static bool vr_has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

/*
 * True when the text before the first ':' is no hex field, nor a field of
 * hex width with a typo in it, nor a mistyped domain (those get the
 * field's own message).
 */
static bool vr_unknown_prefix(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t i, n = colon ? (size_t)(colon - s) : len;
	bool word = false;

	if (!colon || n == 2 || n == 4)
		return false;
	/* A word ("pci:"), not a mistyped domain ("1000g:"): no digits. */
	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			return false;
		if (hex_to_bin((unsigned char)s[i]) < 0 && s[i] != '*')
			word = true;
	}
	return word;
}

/* A driver name: what a PCI driver registers, as driver_override takes it. */
static bool vr_driver_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/*
 * The target after '@' (@at), into @sel->driver: "" for vfio-pci, the
 * default, so that both spellings are one rule.
 */
static int vr_parse_target(const char *at, size_t len,
			   struct vr_selector *sel, const char **reason)
{
	size_t i;

	if (sel->exclude) {
		*reason = "an exclusion has no target driver";
		return -EINVAL;
	}
	if (!len) {
		*reason = "'@' needs a driver name after it";
		return -EINVAL;
	}
	if (len > VR_SEL_DRIVER_MAX) {
		*reason = "a driver name is at most 31 characters";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!vr_driver_char(at[i])) {
			*reason = "a driver name is letters, digits, '_' and '-'";
			return -EINVAL;
		}
	}
	if (len == 8 && !memcmp(at, "vfio-pci", 8))
		return 0;
	memcpy(sel->driver, at, len);
	sel->driver[len] = '\0';
	return 0;
}

static int vr_parse_selector(const char *tok, size_t len,
			     struct vr_selector *sel, const char **reason)
{
	if (vr_has_prefix(tok, len, "class:")) {
		sel->kind = VR_SEL_CLASS;
		return vr_parse_class(tok + 6, len - 6, sel, reason);
	}
	if (vr_has_prefix(tok, len, "vf:")) {
		sel->kind = VR_SEL_VF;
		return vr_parse_addr(tok + 3, len - 3, false, sel, reason);
	}
	if (vr_unknown_prefix(tok, len)) {
		*reason = "unknown prefix (known: class:, vf:)";
		return -EINVAL;
	}
	if (memchr(tok, '#', len))
		return vr_parse_pinned(tok, len, sel, reason);
	if (memchr(tok, '.', len)) {
		sel->kind = VR_SEL_ADDR;
		return vr_parse_addr(tok, len, true, sel, reason);
	}
	if (memchr(tok, ':', len)) {
		sel->kind = VR_SEL_ID;
		return vr_parse_id(tok, len, sel, reason);
	}
	*reason = "expected an address, vvvv:dddd, class: or vf:";
	return -EINVAL;
}

/**
 * vr_sel_parse() - parse one selector token
 * @tok: the token, not NUL terminated
 * @len: its length
 * @sel: filled in on success
 * @reason: set to a static explanation on failure
 *
 * Return: 0 or -EINVAL.
 */
int vr_sel_parse(const char *tok, size_t len, struct vr_selector *sel,
		 const char **reason)
{
	const char *at;
	size_t i;

	memset(sel, 0, sizeof(*sel));
	if (!len) {
		*reason = "empty selector";
		return -EINVAL;
	}
	if (len > VR_SEL_TOKEN_MAX) {
		*reason = "longer than 64 characters";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (tok[i] == ' ' || (unsigned char)tok[i] < 0x20 ||
		    tok[i] == 0x7f) {
			*reason = "a space or control character in a selector";
			return -EINVAL;
		}
	}
	if (tok[0] == '!') {
		sel->exclude = true;
		tok++;
		len--;
		if (!len) {
			*reason = "'!' needs a selector after it";
			return -EINVAL;
		}
		if (tok[0] == '!') {
			*reason = "only one '!' is allowed";
			return -EINVAL;
		}
	}
	at = memchr(tok, '@', len);
	if (at) {
		if (vr_parse_target(at + 1, len - (size_t)(at + 1 - tok), sel,
				    reason))
			return -EINVAL;
		len = (size_t)(at - tok);
		if (!len) {
			*reason = "'@' needs a selector before it";
			return -EINVAL;
		}
	}
	return vr_parse_selector(tok, len, sel, reason);
}

static void vr_sel_set_error(struct vr_sel_error *err, const char *list,
			     const char *tok, size_t len, unsigned int index,
			     const char *reason)
{
	size_t keep = len;

	if (!err)
		return;
	err->pos = (unsigned int)(tok - list);
	err->index = index;
	err->reason = reason;
	if (keep > VR_SEL_TOKEN_MAX)
		keep = VR_SEL_TOKEN_MAX;
	memcpy(err->token, tok, keep);
	if (keep < len)
		memcpy(err->token + keep, "...", 4);
	else
		err->token[keep] = '\0';
}

/**
 * vr_sel_parse_list() - parse a comma separated selector list
 * @list: NUL terminated text; "" is an empty list
 * @sels: room for @max selectors
 * @max: at most this many
 * @err: where a failure is described (may be NULL)
 *
 * Nothing is taken from a list with a bad token: on error the caller must
 * ignore @sels entirely.
 *
 * Return: the number of selectors, or -EINVAL (a bad token, or more than
 * @max: @err says which).
 */
int vr_sel_parse_list(const char *list, struct vr_selector *sels,
		      unsigned int max, struct vr_sel_error *err)
{
	const char *tok = list;
	unsigned int n = 0;
	const char *reason;

	if (!*list)
		return 0;
	for (;;) {
		const char *comma = strchr(tok, ',');
		size_t len = comma ? (size_t)(comma - tok) : strlen(tok);

		if (n == max) {
			vr_sel_set_error(err, list, tok, len, n + 1,
					 "too many selectors in one list");
			return -EINVAL;
		}
		if (vr_sel_parse(tok, len, &sels[n], &reason)) {
			vr_sel_set_error(err, list, tok, len, n + 1, reason);
			return -EINVAL;
		}
		n++;
		if (!comma)
			return (int)n;
		tok = comma + 1;
	}
}

/**
 * vr_sel_refuse() - describe the refusal of a selector that parsed
 * @list: the list it came from
 * @index: its number in @list, from 1
 * @reason: why it is refused
 * @err: filled in as vr_sel_parse_list() fills it
 *
 * For what the grammar allows and a caller does not (the module and
 * "@auto").
 *
 * Return: -EINVAL.
 */
int vr_sel_refuse(const char *list, unsigned int index, const char *reason,
		  struct vr_sel_error *err)
{
	const char *tok = list, *comma;
	unsigned int i;

	for (i = 1; i < index && (comma = strchr(tok, ',')); i++)
		tok = comma + 1;
	comma = strchr(tok, ',');
	vr_sel_set_error(err, list, tok,
			 comma ? (size_t)(comma - tok) : strlen(tok), index,
			 reason);
	return -EINVAL;
}

/**
 * vr_sel_list_named() - refuse "@auto" in a parsed list
 * @list: the list
 * @sels: what vr_sel_parse_list() made of it
 * @n: how many
 * @err: names the first "@auto"
 *
 * "@auto" asks for the driver that modules.alias prefers: only the helper
 * reads modules.alias. The module, and helper commands that send a list
 * as it is, need a driver's name.
 *
 * Return: 0, or -EINVAL.
 */
int vr_sel_list_named(const char *list, const struct vr_selector *sels,
		      int n, struct vr_sel_error *err)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(sels[i].driver, VR_SEL_AUTO))
			return vr_sel_refuse(list, (unsigned int)i + 1,
					     "@auto is not resolved here: give a driver name",
					     err);
	return 0;
}

/* "selector 3 'xyz' at position 12: reason" */
int vr_sel_format_error(const struct vr_sel_error *err, char *buf, size_t size)
{
	return snprintf(buf, size, "selector %u '%s' at position %u: %s",
			err->index, err->token, err->pos, err->reason);
}

static bool vr_field_match(u32 want, u32 have)
{
	return want == VR_SEL_ANY || want == have;
}

static bool vr_addr_match(const struct vr_selector *sel,
			  const struct vr_pci_ids *id)
{
	return sel->domain == id->domain && sel->bus == id->bus &&
	       vr_field_match(sel->slot, id->slot) &&
	       vr_field_match(sel->func, id->func);
}

/*
 * A pinned address whose device has other ids than the pin: the one case
 * where the address matches and the selector does not, for the log.
 */
bool vr_sel_pin_differs(const struct vr_selector *sel,
			const struct vr_pci_ids *id)
{
	return sel->kind == VR_SEL_ADDR && sel->pinned &&
	       vr_addr_match(sel, id) && !vr_sel_match(sel, id);
}

/* Does @sel (ignoring its '!') describe @id? */
bool vr_sel_match(const struct vr_selector *sel, const struct vr_pci_ids *id)
{
	switch (sel->kind) {
	case VR_SEL_ADDR:
		return vr_addr_match(sel, id) &&
		       (!sel->pinned || (sel->vendor == id->vendor &&
					 sel->device == id->device));
	case VR_SEL_ID:
		return sel->vendor == id->vendor &&
		       vr_field_match(sel->device, id->device) &&
		       vr_field_match(sel->subvendor, id->subvendor) &&
		       vr_field_match(sel->subdevice, id->subdevice);
	case VR_SEL_CLASS:
		return (id->class & sel->class_mask) == sel->class;
	case VR_SEL_VF:
		return id->is_vf && sel->domain == id->pf_domain &&
		       sel->bus == id->pf_bus && sel->slot == id->pf_slot &&
		       sel->func == id->pf_func;
	}
	return false;
}

/**
 * vr_sel_list_match() - apply a rule list to one device
 * @sels: the selectors
 * @n: how many
 * @id: the device
 *
 * Exclusions win over inclusions whatever their order.
 *
 * Return: the index of the first inclusion that matches, or -1 when none
 * does or an exclusion matches.
 */
int vr_sel_list_match(const struct vr_selector *sels, unsigned int n,
		      const struct vr_pci_ids *id)
{
	int found = -1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!vr_sel_match(&sels[i], id))
			continue;
		if (sels[i].exclude)
			return -1;
		if (found < 0)
			found = (int)i;
	}
	return found;
}

bool vr_sel_equal(const struct vr_selector *a, const struct vr_selector *b)
{
	char ta[VR_SEL_TEXT_SIZE], tb[VR_SEL_TEXT_SIZE];

	vr_sel_format(a, ta, sizeof(ta));
	vr_sel_format(b, tb, sizeof(tb));
	return !strcmp(ta, tb);
}

static int vr_format_field(char *buf, size_t size, u32 v, int digits)
{
	if (v == VR_SEL_ANY)
		return snprintf(buf, size, "*");
	return snprintf(buf, size, "%0*x", digits, v);
}

static int vr_sel_format_body(const struct vr_selector *sel, char *buf,
			      size_t size)
{
	const char *bang = sel->exclude ? "!" : "";
	char a[12], b[12], c[12];

	switch (sel->kind) {
	case VR_SEL_ADDR:
		if (sel->pinned)
			return snprintf(buf, size, "%04x:%02x:%02x.%x#%04x:%04x",
					sel->domain, sel->bus, sel->slot,
					sel->func, sel->vendor, sel->device);
		vr_format_field(a, sizeof(a), sel->slot, 2);
		vr_format_field(b, sizeof(b), sel->func, 1);
		return snprintf(buf, size, "%s%04x:%02x:%s.%s", bang,
				sel->domain, sel->bus, a, b);
	case VR_SEL_ID:
		vr_format_field(a, sizeof(a), sel->device, 4);
		if (sel->subvendor == VR_SEL_ANY &&
		    sel->subdevice == VR_SEL_ANY)
			return snprintf(buf, size, "%s%04x:%s", bang,
					sel->vendor, a);
		vr_format_field(b, sizeof(b), sel->subvendor, 4);
		vr_format_field(c, sizeof(c), sel->subdevice, 4);
		return snprintf(buf, size, "%s%04x:%s:%s:%s", bang,
				sel->vendor, a, b, c);
	case VR_SEL_CLASS:
		if (sel->class_mask == 0xffff00)
			return snprintf(buf, size, "%sclass:%04x", bang,
					sel->class >> 8);
		return snprintf(buf, size, "%sclass:%06x", bang, sel->class);
	case VR_SEL_VF:
		return snprintf(buf, size, "%svf:%04x:%02x:%02x.%x", bang,
				sel->domain, sel->bus, sel->slot, sel->func);
	}
	return snprintf(buf, size, "?");
}

/* The canonical text of @sel: lower case, domain always written. */
int vr_sel_format(const struct vr_selector *sel, char *buf, size_t size)
{
	int n = vr_sel_format_body(sel, buf, size);

	if (!sel->driver[0] || n < 0 || (size_t)n >= size)
		return n;
	return n + snprintf(buf + n, size - (size_t)n, "@%s", sel->driver);
}
