// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The vfio-reserve authors.
 *
 * Unit tests of the selector parser and matcher: the very selector.c that
 * the module is built from, compiled for userspace.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "selector.h"
#include "uapi/linux/vfio_reserve.h"

struct valid_case {
	const char *in;
	const char *canonical;
};

static const struct valid_case valid[] = {
	{ "0000:03:00.0", "0000:03:00.0" },
	{ "03:00.0", "0000:03:00.0" },
	{ "0001:ff:1f.7", "0001:ff:1f.7" },
	{ "0000:03:00.*", "0000:03:00.*" },
	{ "0000:03:*.*", "0000:03:*.*" },
	{ "03:*.0", "0000:03:*.0" },
	{ "ABCD:0A:1F.3", "abcd:0a:1f.3" },
	/* Domains past ffff (Intel VMD: 10000 up), written as the kernel does. */
	{ "10000:00:00.0", "10000:00:00.0" },
	{ "0010000:01:00.0", "10000:01:00.0" },
	{ "ffffffff:ff:1f.7", "ffffffff:ff:1f.7" },
	{ "!10000:00:02.0", "!10000:00:02.0" },
	{ "10000:00:*.*", "10000:00:*.*" },
	{ "vf:10001:02:00.0", "vf:10001:02:00.0" },
	{ "8086:10d3", "8086:10d3" },
	{ "10de:*", "10de:*" },
	{ "8086:10d3:8086:0001", "8086:10d3:8086:0001" },
	{ "8086:10d3:*:*", "8086:10d3" },
	{ "8086:*:1af4:*", "8086:*:1af4:*" },
	{ "class:0200", "class:0200" },
	{ "class:030000", "class:030000" },
	{ "vf:0000:02:00.0", "vf:0000:02:00.0" },
	{ "vf:02:00.0", "vf:0000:02:00.0" },
	{ "!0000:00:19.0", "!0000:00:19.0" },
	{ "!class:0c03", "!class:0c03" },
	{ "!vf:0000:02:00.0", "!vf:0000:02:00.0" },
	/* Pinned: an address and the ids the device there must have. */
	{ "0000:03:00.0#10DE:2204", "0000:03:00.0#10de:2204" },
	{ "03:00.0#8086:10d3", "0000:03:00.0#8086:10d3" },
	{ "10000:01:00.0#8086:f1a8", "10000:01:00.0#8086:f1a8" },
	{ "ffffffff:ff:1f.7#ffff:ffff", "ffffffff:ff:1f.7#ffff:ffff" },
	/* A target driver per rule; vfio-pci is the default, not written. */
	{ "0000:03:00.0@mlx5_vfio_pci", "0000:03:00.0@mlx5_vfio_pci" },
	{ "15b3:101e@auto", "15b3:101e@auto" },
	{ "vf:65:00.0@auto", "vf:0000:65:00.0@auto" },
	{ "8086:10d3@pci-stub", "8086:10d3@pci-stub" },
	{ "03:00.0@vfio-pci", "0000:03:00.0" },
	{ "class:0108@Vr-Test_1", "class:0108@Vr-Test_1" },
	{ "03:00.0#8086:10d3@vr_testvariant", "0000:03:00.0#8086:10d3@vr_testvariant" },
	{ "ffffffff:ff:1f.7#ffff:ffff@abcdefghijklmnopqrstuvwxyz01234",
	  "ffffffff:ff:1f.7#ffff:ffff@abcdefghijklmnopqrstuvwxyz01234" },
};

struct invalid_case {
	const char *in;
	const char *reason;	/* a part of the reason */
};

static const struct invalid_case invalid[] = {
	{ "", "empty" },
	{ "!", "'!' needs" },
	{ "!!0000:03:00.0", "only one '!'" },
	{ "0000:03:00.8", "function must be 0-7" },
	{ "0000:03:20.0", "slot must be 00-1f" },
	{ "0000:3:00.0", "bus must be 2 hex" },
	{ "000:03:00.0", "domain must be 4 to 8 hex" },
	{ "100000000:03:00.0", "domain must be 4 to 8 hex" },
	{ "1000g:03:00.0", "domain must be 4 to 8 hex" },
	{ "0000:*:00.0", "bus cannot be '*'" },
	{ "0000:0g:00.0", "bus must be 2 hex" },
	{ "0000:03:00", "neither [dddd" },
	{ "0000:03:00.0.1", "address is" },
	{ "03.0", "address is" },
	{ "0:0000:03:00.0", "address is" },
	{ "vf:0000:02:00.*", "function must be 0-7" },
	{ "vf:0000:02:*.0", "slot must be 00-1f" },
	{ "808g:10d3", "vendor must be 4 hex" },
	{ "*:10d3", "vendor cannot be '*'" },
	{ "8086:10d", "device must be 4 hex" },
	{ "8086:10d3:8086", "neither [dddd" },
	{ "8086:10d3:8086:0001:0", "ids are" },
	{ "8086:10d3:808:0001", "subsystem ids" },
	{ "class:02", "a class is" },
	{ "class:02000", "a class is" },
	{ "class:0x0200", "a class is" },
	{ "foo:1234", "unknown prefix" },
	{ "pci:0000:03:00.0", "unknown prefix" },
	{ "dev:8086:10d3", "unknown prefix" },
	{ "8086", "expected an address" },
	{ "0000:03:00.0 ", "space or control" },
	{ "0000:03:00.0\x1b[31m", "space or control" },
	{ "\r8086:10d3", "space or control" },
	{ "8086:10d3\x7f", "space or control" },
	{ "0000:03:00.000000000000000000000000000000000000000000000000000000000000", "longer than 64" },
	{ "!0000:03:00.0@pci-stub", "exclusion has no target" },
	{ "8086:10d3@", "'@' needs a driver name" },
	{ "@pci-stub", "'@' needs a selector" },
	{ "!@pci-stub", "exclusion has no target" },
	{ "8086:10d3@a/b", "letters, digits" },
	{ "8086:10d3@a@b", "letters, digits" },
	{ "8086:10d3@vfio.pci", "letters, digits" },
	{ "8086:10d3@abcdefghijklmnopqrstuvwxyz012345", "at most 31" },
	{ "8086:1@pci-stub", "device must be 4 hex" },
	{ "!0000:03:00.0#8086:10d3", "exclusion cannot be pinned" },
	{ "0000:03:*.*#8086:10d3", "slot must be 00-1f" },
	{ "0000:03:00.*#8086:10d3", "function must be 0-7" },
	{ "0000:03:00.0#", "pinned address is" },
	{ "0000:03:00.0#8086", "pinned address is" },
	{ "0000:03:00.0#8086:*", "pinned address is" },
	{ "0000:03:00.0#8086:10d3:8086:0001", "pinned address is" },
	{ "0000:03:00.0#8086:10d3#1", "pinned address is" },
	{ "8086:10d3#8086:10d3", "address is" },
	{ "class:0200#8086:10d3", "a class is" },
};

TEST(valid_tokens_parse_to_canonical_text)
{
	char text[VR_SEL_TEXT_SIZE];
	struct vr_selector sel, again;
	const char *reason = NULL;
	size_t i;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		TH_LOG("%s", valid[i].in);
		ASSERT_EQ(0, vr_sel_parse(valid[i].in, strlen(valid[i].in),
					  &sel, &reason));
		vr_sel_format(&sel, text, sizeof(text));
		EXPECT_STREQ(valid[i].canonical, text);
		/* The canonical text parses to the same selector. */
		ASSERT_EQ(0, vr_sel_parse(text, strlen(text), &again, &reason));
		EXPECT_TRUE(vr_sel_equal(&sel, &again));
	}
}

TEST(invalid_tokens_are_refused_with_a_reason)
{
	struct vr_selector sel;
	size_t i;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const char *reason = NULL;

		TH_LOG("'%s'", invalid[i].in);
		EXPECT_EQ(-EINVAL, vr_sel_parse(invalid[i].in,
						strlen(invalid[i].in), &sel,
						&reason));
		ASSERT_NE(NULL, reason);
		EXPECT_NE(NULL, strstr(reason, invalid[i].reason))
			TH_LOG("reason was: %s", reason);
	}
}

/*
 * The module sends "selector N at position P: REASON" as an extack message,
 * which the kernel holds in 80 bytes with its NUL (NETLINK_MAX_FMTMSG_LEN):
 * every reason fits with the widest N and P.
 */
TEST(reasons_fit_an_extack_message)
{
	char buf[256];
	struct vr_selector sel;
	size_t i;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const char *reason = "";

		vr_sel_parse(invalid[i].in, strlen(invalid[i].in), &sel, &reason);
		snprintf(buf, sizeof(buf), "selector %u at position %u: %s",
			 VR_SEL_LIST_MAX + 1, VFIO_RESERVE_SELECTOR_LIST_MAX - 1,
			 reason);
		EXPECT_GT(80, (int)strlen(buf)) TH_LOG("%zu bytes: %s", strlen(buf), buf);
	}
}

TEST(list_parses_every_token)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	struct vr_sel_error err;

	EXPECT_EQ(0, vr_sel_parse_list("", sels, VR_SEL_LIST_MAX, &err));
	EXPECT_EQ(4, vr_sel_parse_list("8086:10d3,!0000:00:02.0,class:0108,vf:02:00.0",
				       sels, VR_SEL_LIST_MAX, &err));
	EXPECT_EQ(VR_SEL_ID, sels[0].kind);
	EXPECT_TRUE(sels[1].exclude);
	EXPECT_EQ(VR_SEL_CLASS, sels[2].kind);
	EXPECT_EQ(VR_SEL_VF, sels[3].kind);
}

struct list_error_case {
	const char *list;
	unsigned int index, pos;
	const char *token;
	int ret;
};

static const struct list_error_case list_errors[] = {
	{ "8086:10d3,", 2, 10, "", -EINVAL },
	{ ",8086:10d3", 1, 0, "", -EINVAL },
	{ "8086:10d3,,class:0200", 2, 10, "", -EINVAL },
	{ "8086:10d3,!0000:00:02.8", 2, 10, "!0000:00:02.8", -EINVAL },
	{ "class:0200,8086:zzzz,03:00.0", 2, 11, "8086:zzzz", -EINVAL },
	{ "!", 1, 0, "!", -EINVAL },
	{ "0000:03:00.000000000000000000000000000000000000000000000000000000000,8086:10d3", 1, 0,
	  "0000:03:00.00000000000000000000000000000000000000000000000000000...", -EINVAL },
	{ "8086:10d3,15b3:101e@mlx5/vfio", 2, 10, "15b3:101e@mlx5/vfio", -EINVAL },
};

TEST(list_errors_name_the_token_and_its_position)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	char text[160];
	size_t i;

	for (i = 0; i < sizeof(list_errors) / sizeof(list_errors[0]); i++) {
		const struct list_error_case *c = &list_errors[i];
		struct vr_sel_error err;

		memset(&err, 0, sizeof(err));
		TH_LOG("'%s'", c->list);
		EXPECT_EQ(c->ret, vr_sel_parse_list(c->list, sels,
						    VR_SEL_LIST_MAX, &err));
		EXPECT_EQ(c->index, err.index);
		EXPECT_EQ(c->pos, err.pos);
		EXPECT_STREQ(c->token, err.token);
		vr_sel_format_error(&err, text, sizeof(text));
		EXPECT_NE(NULL, strstr(text, c->token));
	}
}

/* A selector that parsed, refused by its caller: named as a parse error. */
TEST(refused_selectors_are_named_as_parse_errors)
{
	struct vr_sel_error err;
	char text[160];

	memset(&err, 0, sizeof(err));
	EXPECT_EQ(-EINVAL, vr_sel_refuse("8086:10d3,class:0200@auto,03:00.0", 2,
					 "why", &err));
	EXPECT_EQ(2, err.index);
	EXPECT_EQ(10, err.pos);
	EXPECT_STREQ("class:0200@auto", err.token);
	vr_sel_format_error(&err, text, sizeof(text));
	EXPECT_STREQ("selector 2 'class:0200@auto' at position 10: why", text);
	EXPECT_EQ(-EINVAL, vr_sel_refuse("03:00.0@auto", 1, "why", &err));
	EXPECT_EQ(0, err.pos);
	EXPECT_STREQ("03:00.0@auto", err.token);
}

TEST(list_longer_than_the_limit_is_refused)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	struct vr_sel_error err;
	char list[VR_SEL_LIST_MAX * 11 + 16] = "";
	int i;

	for (i = 0; i <= VR_SEL_LIST_MAX; i++)
		strcat(list, i ? ",8086:10d3" : "8086:10d3");
	EXPECT_EQ(-EINVAL, vr_sel_parse_list(list, sels, VR_SEL_LIST_MAX,
					    &err));
	EXPECT_EQ(VR_SEL_LIST_MAX + 1, err.index);
}

static struct vr_pci_ids nic(unsigned int bus, unsigned int slot,
			     unsigned int func)
{
	struct vr_pci_ids id = {
		.domain = 0, .bus = bus, .slot = slot, .func = func,
		.vendor = 0x8086, .device = 0x10d3,
		.subvendor = 0x8086, .subdevice = 0x0000,
		.class = 0x020000,
	};
	return id;
}

static int match(const char *list, const struct vr_pci_ids *id)
{
	struct vr_selector sels[VR_SEL_LIST_MAX];
	struct vr_sel_error err;
	int n = vr_sel_parse_list(list, sels, VR_SEL_LIST_MAX, &err);

	if (n < 0)
		return -100;
	return vr_sel_list_match(sels, (unsigned int)n, id);
}

/* A VMD domain is told apart from domain 0, in both directions. */
TEST(domains_past_ffff_match_exactly)
{
	struct vr_pci_ids low = nic(0, 2, 0), vmd = nic(0, 2, 0),
			  vf = nic(3, 0, 1);

	vmd.domain = 0x10000;
	vf.domain = 0x10000;
	vf.is_vf = true;
	vf.pf_domain = 0x10000;
	vf.pf_bus = 2;
	EXPECT_EQ(0, match("10000:00:02.0", &vmd));
	EXPECT_EQ(-1, match("10000:00:02.0", &low));
	EXPECT_EQ(-1, match("0000:00:02.0", &vmd));
	EXPECT_EQ(0, match("0000:00:02.0", &low));
	EXPECT_EQ(-1, match("8086:10d3,!10000:00:02.0", &vmd));
	EXPECT_EQ(0, match("8086:10d3,!10000:00:02.0", &low));
	EXPECT_EQ(0, match("vf:10000:02:00.0", &vf));
	EXPECT_EQ(-1, match("vf:0000:02:00.0", &vf));
}

TEST(addresses_and_wildcards_match)
{
	struct vr_pci_ids a = nic(3, 0, 0), b = nic(3, 0, 1), c = nic(3, 1, 0);

	EXPECT_EQ(0, match("0000:03:00.0", &a));
	EXPECT_EQ(-1, match("0000:03:00.0", &b));
	EXPECT_EQ(0, match("03:00.*", &b));
	EXPECT_EQ(-1, match("03:00.*", &c));
	EXPECT_EQ(0, match("03:*.*", &c));
	EXPECT_EQ(-1, match("0001:03:*.*", &c));
	EXPECT_EQ(0, match("03:*.0", &c));
	EXPECT_EQ(-1, match("03:*.0", &b));
}

/* A pinned address takes its device only while the ids there are the pin's. */
TEST(pinned_addresses_match_only_their_ids)
{
	struct vr_pci_ids a = nic(3, 0, 0), b = nic(3, 0, 1);
	struct vr_selector sel;
	const char *reason;

	EXPECT_EQ(0, match("0000:03:00.0#8086:10d3", &a));
	EXPECT_EQ(-1, match("0000:03:00.0#10de:2204", &a));
	EXPECT_EQ(-1, match("0000:03:00.0#8086:10d4", &a));
	EXPECT_EQ(-1, match("0000:03:00.0#8086:10d3", &b));
	EXPECT_EQ(1, match("0000:03:00.0#10de:2204,8086:10d3", &a));
	ASSERT_EQ(0, vr_sel_parse("03:00.0#10de:2204", 17, &sel, &reason));
	EXPECT_TRUE(vr_sel_pin_differs(&sel, &a));
	EXPECT_FALSE(vr_sel_pin_differs(&sel, &b));
	ASSERT_EQ(0, vr_sel_parse("03:00.0#8086:10d3", 17, &sel, &reason));
	EXPECT_FALSE(vr_sel_pin_differs(&sel, &a));
	ASSERT_EQ(0, vr_sel_parse("03:00.0", 7, &sel, &reason));
	EXPECT_FALSE(vr_sel_pin_differs(&sel, &a));
	EXPECT_FALSE(sel.pinned);
}

TEST(ids_and_classes_match)
{
	struct vr_pci_ids a = nic(1, 0, 0);
	struct vr_pci_ids nvme = nic(2, 0, 0);

	nvme.vendor = 0x1b36;
	nvme.device = 0x0010;
	nvme.class = 0x010802;
	EXPECT_EQ(0, match("8086:10d3", &a));
	EXPECT_EQ(0, match("8086:*", &a));
	EXPECT_EQ(-1, match("8086:10d4", &a));
	EXPECT_EQ(0, match("8086:10d3:8086:0000", &a));
	EXPECT_EQ(-1, match("8086:10d3:8086:0001", &a));
	EXPECT_EQ(-1, match("8086:10d3:1af4:0000", &a));
	EXPECT_EQ(-1, match("8086:*:1af4:*", &a));
	EXPECT_EQ(-1, match("8086:*:*:0001", &a));
	EXPECT_EQ(0, match("8086:10d3:*:0000", &a));
	EXPECT_EQ(0, match("class:0200", &a));
	EXPECT_EQ(-1, match("class:0200", &nvme));
	EXPECT_EQ(0, match("class:0108", &nvme));
	EXPECT_EQ(0, match("class:010802", &nvme));
	EXPECT_EQ(-1, match("class:010801", &nvme));
}

TEST(vf_selector_matches_only_vfs_of_that_pf)
{
	struct vr_pci_ids pf = nic(2, 0, 0), vf = nic(2, 0, 1);
	struct vr_pci_ids other = nic(2, 0, 2);

	vf.is_vf = true;
	vf.pf_bus = 2;
	other.is_vf = true;
	other.pf_bus = 5;
	EXPECT_EQ(-1, match("vf:0000:02:00.0", &pf));
	/* A function that is no VF has no PF, not one at 0000:00:00.0. */
	EXPECT_EQ(-1, match("vf:0000:00:00.0", &pf));
	EXPECT_EQ(0, match("vf:0000:02:00.0", &vf));
	EXPECT_EQ(-1, match("vf:0000:02:00.0", &other));
	/* Another PF's slot, function or domain on the same bus. */
	EXPECT_EQ(-1, match("vf:0000:02:01.0", &vf));
	EXPECT_EQ(-1, match("vf:0000:02:00.1", &vf));
	EXPECT_EQ(-1, match("vf:0001:02:00.0", &vf));
	vf.pf_slot = 3;
	vf.pf_func = 2;
	EXPECT_EQ(0, match("vf:02:03.2", &vf));
	EXPECT_EQ(-1, match("vf:02:03.0", &vf));
	EXPECT_EQ(-1, match("vf:02:00.2", &vf));
}

TEST(exclusions_win_whatever_their_order)
{
	struct vr_pci_ids nic0 = nic(0, 2, 0), nic1 = nic(1, 0, 0);

	EXPECT_EQ(-1, match("8086:10d3,!0000:00:02.0", &nic0));
	EXPECT_EQ(0, match("8086:10d3,!0000:00:02.0", &nic1));
	EXPECT_EQ(-1, match("!0000:00:02.0,8086:10d3", &nic0));
	EXPECT_EQ(1, match("!0000:00:02.0,8086:10d3", &nic1));
	EXPECT_EQ(-1, match("class:0200,8086:10d3,!8086:*", &nic1));
	/* Exclusions alone reserve nothing. */
	EXPECT_EQ(-1, match("!0000:00:02.0", &nic1));
	/* The first inclusion that matches is the one reported. */
	EXPECT_EQ(1, match("class:0108,class:0200,8086:10d3", &nic1));
}

TEST(a_bad_token_rejects_the_whole_list)
{
	struct vr_pci_ids nic1 = nic(1, 0, 0);

	/* A typo in the exclusion must not leave the inclusion active. */
	EXPECT_EQ(-100, match("8086:10d3,!0000:00:02.8", &nic1));
}

TEST_HARNESS_MAIN
