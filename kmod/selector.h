/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * The selector language: one grammar for the module parameter, the netlink
 * rules and the helper. This header and selector.c build both in the kernel
 * and in userspace (unit tests, helper), so they use nothing but plain C.
 */
#ifndef VR_SELECTOR_H
#define VR_SELECTOR_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
#endif

#define VR_SEL_ANY		0xffffffffU
/*
 * Longest accepted token: a selector (at most 26 characters, a pinned
 * address with an 8-digit domain) and its target, '@' and a driver name.
 */
#define VR_SEL_TOKEN_MAX	64
/* Longest target driver name (a PCI driver's name, as driver_override takes). */
#define VR_SEL_DRIVER_MAX	31
/* The target that picks the driver from modules.alias: the helper's only. */
#define VR_SEL_AUTO		"auto"
/* Room for a canonical selector and its NUL. */
#define VR_SEL_TEXT_SIZE	(VR_SEL_TOKEN_MAX + 1)
/* Most selectors in one list. */
#define VR_SEL_LIST_MAX		64

enum vr_sel_kind {
	VR_SEL_ADDR = 1,	/* [dddd:]bb:ss.f ('*' ss, f), or #vvvv:dddd */
	VR_SEL_ID,		/* vvvv:dddd[:svvv:sddd], '*' any but vendor */
	VR_SEL_CLASS,		/* class:ccss or class:ccsspp */
	VR_SEL_VF,		/* vf:[dddd:]bb:ss.f, the VFs of that PF */
};

struct vr_selector {
	u8 kind;		/* enum vr_sel_kind */
	bool exclude;		/* '!' prefix */
	bool pinned;		/* ADDR#vvvv:dddd: vendor and device too */
	u32 domain;		/* ADDR and VF */
	u32 bus;
	u32 slot;		/* VR_SEL_ANY for '*' (ADDR only) */
	u32 func;		/* VR_SEL_ANY for '*' (ADDR only) */
	u32 vendor;		/* ID, and a pinned ADDR */
	u32 device;		/* VR_SEL_ANY for '*' (ID only) */
	u32 subvendor;
	u32 subdevice;
	u32 class;		/* CLASS: 24-bit class code ... */
	u32 class_mask;		/* ... and the bits that must match */
	char driver[VR_SEL_DRIVER_MAX + 1];	/* @DRIVER; "" for vfio-pci */
};

/* What the matcher needs to know of one PCI function. */
struct vr_pci_ids {
	u32 domain;
	u8 bus, slot, func;
	u16 vendor, device, subvendor, subdevice;
	u32 class;		/* 24-bit class code */
	bool is_vf;
	u32 pf_domain;		/* is_vf only */
	u8 pf_bus, pf_slot, pf_func;
};

/* Where and why a list failed to parse. */
struct vr_sel_error {
	unsigned int pos;	/* byte offset of the bad token */
	unsigned int index;	/* its number in the list, from 1 */
	char token[VR_SEL_TOKEN_MAX + 4];	/* the token, cut with "..." */
	const char *reason;
};

int vr_sel_parse(const char *tok, size_t len, struct vr_selector *sel,
		 const char **reason);
int vr_sel_parse_list(const char *list, struct vr_selector *sels,
		      unsigned int max, struct vr_sel_error *err);
int vr_sel_list_named(const char *list, const struct vr_selector *sels,
		      int n, struct vr_sel_error *err);
int vr_sel_refuse(const char *list, unsigned int index, const char *reason,
		  struct vr_sel_error *err);
int vr_sel_format_error(const struct vr_sel_error *err, char *buf,
			size_t size);
bool vr_sel_match(const struct vr_selector *sel, const struct vr_pci_ids *id);
bool vr_sel_pin_differs(const struct vr_selector *sel,
			const struct vr_pci_ids *id);
int vr_sel_list_match(const struct vr_selector *sels, unsigned int n,
		      const struct vr_pci_ids *id);
bool vr_sel_equal(const struct vr_selector *a, const struct vr_selector *b);
int vr_sel_format(const struct vr_selector *sel, char *buf, size_t size);

#endif /* VR_SELECTOR_H */
