using System.Collections.Frozen;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Monolith.Tests.Support;
using Monolith.Toggles;
using Monolith.Toggles.Contracts;
using Monolith.Toggles.Evaluation;

namespace Monolith.Tests.Toggles;

[Trait("Category", Categories.Unit)]
public sealed class ToggleRulesTests
{
    private static readonly Guid ProjectA = Guid.CreateVersion7();
    private static readonly Guid ProjectB = Guid.CreateVersion7();

    private static TenantToggles Tenant(bool undefinedDefault, params ToggleRule[] rules) =>
        new(Guid.CreateVersion7(), 1, undefinedDefault, rules.ToFrozenDictionary(r => r.Key, StringComparer.Ordinal),
            rules.Select(r => r.Key).Order(StringComparer.Ordinal).ToArray());

    private static FrozenDictionary<string, bool> Overrides(params (string Key, bool Enabled)[] overrides) =>
        overrides.ToFrozenDictionary(o => o.Key, o => o.Enabled, StringComparer.Ordinal);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_undefined_key_evaluates_to_the_tenants_undefined_default_with_reason_undefined(bool undefinedDefault)
    {
        var evaluation = Tenant(undefinedDefault).Evaluate("never.defined", ProjectA, Overrides());

        Assert.Equal(new ToggleEvaluation("never.defined", undefinedDefault, ToggleReason.Undefined), evaluation);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_defined_key_without_override_evaluates_to_its_default(bool enabled)
    {
        var tenant = Tenant(!enabled, new ToggleRule("checkout", enabled, null));

        Assert.Equal(new ToggleEvaluation("checkout", enabled, ToggleReason.Default), tenant.Evaluate("checkout", ProjectA, Overrides()));
        Assert.Equal(new ToggleEvaluation("checkout", enabled, ToggleReason.Default), tenant.Evaluate("checkout", null, null));
    }

    [Fact]
    public void A_project_override_wins_over_the_default_and_only_for_its_project()
    {
        var tenant = Tenant(false, new ToggleRule("checkout", false, null));

        Assert.Equal(new ToggleEvaluation("checkout", true, ToggleReason.Override), tenant.Evaluate("checkout", ProjectA, Overrides(("checkout", true))));
        Assert.Equal(new ToggleEvaluation("checkout", false, ToggleReason.Default), tenant.Evaluate("checkout", ProjectB, Overrides()));
    }

    [Fact]
    public void An_override_wins_over_a_percentage_rollout()
    {
        var tenant = Tenant(false, new ToggleRule("checkout", false, 0));

        Assert.Equal(new ToggleEvaluation("checkout", true, ToggleReason.Override), tenant.Evaluate("checkout", ProjectA, Overrides(("checkout", true))));
        Assert.Equal(new ToggleEvaluation("checkout", false, ToggleReason.Default, Rollout.Variant), tenant.Evaluate("checkout", ProjectA, Overrides()));
    }

    [Fact]
    public void A_rollout_applies_to_projects_and_the_tenant_wide_evaluation_keeps_the_plain_default()
    {
        var tenant = Tenant(false, new ToggleRule("checkout", true, 100));

        Assert.Equal(new ToggleEvaluation("checkout", true, ToggleReason.Default, Rollout.Variant), tenant.Evaluate("checkout", ProjectA, Overrides()));
        Assert.Equal(new ToggleEvaluation("checkout", true, ToggleReason.Default), tenant.Evaluate("checkout", null, null));
    }

    [Property]
    public bool A_rollout_bucket_is_in_range_and_sticky(Guid projectId, NonNegativeInt salt)
    {
        var key = $"k{salt.Get}";
        var bucket = Rollout.Bucket(key, projectId);
        return bucket is >= 0 and < 100 && bucket == Rollout.Bucket(key, projectId);
    }

    [Property]
    public bool Raising_the_percentage_never_takes_a_project_out(Guid projectId, byte a, byte b)
    {
        var (low, high) = (Math.Min(a % 101, b % 101), Math.Max(a % 101, b % 101));
        return !Rollout.IsIn("checkout", projectId, low) || Rollout.IsIn("checkout", projectId, high);
    }

    [Fact]
    public void A_rollout_percentage_reaches_about_that_share_of_projects()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => Guid.CreateVersion7()).ToList();

        var share = ids.Count(id => Rollout.IsIn("new-checkout", id, 30)) / (double)ids.Count;

        Assert.InRange(share, 0.27, 0.33);
        Assert.DoesNotContain(ids, id => Rollout.IsIn("new-checkout", id, 0));
        Assert.All(ids, id => Assert.True(Rollout.IsIn("new-checkout", id, 100)));
    }

    [Property]
    public Property Keys_of_the_contract_format_are_valid() =>
        Prop.ForAll(ValidKeys().ToArbitrary(), key => ToggleKey.IsValid(key));

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData(".leading-dot")]
    [InlineData("-leading-dash")]
    [InlineData("_leading-underscore")]
    [InlineData("with space")]
    [InlineData("trailing-newline\n")]
    [InlineData("slash/inside")]
    [InlineData("ümlaut")]
    [InlineData("a12345678901234567890123456789012345678901234567890123456789012345")]
    public void Keys_outside_the_format_are_invalid(string key) => Assert.False(ToggleKey.IsValid(key));

    [Property]
    public bool Any_key_with_a_character_outside_the_alphabet_is_invalid(NonEmptyString text)
    {
        var key = text.Get;
        var allowed = key.Length <= 64 && IsLetterOrDigit(key[0]) && key.All(c => IsLetterOrDigit(c) || c is '.' or '_' or '-');
        return ToggleKey.IsValid(key) == allowed;
    }

    private static bool IsLetterOrDigit(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';

    private static Gen<string> ValidKeys()
    {
        const string first = "abcdefghijklmnopqrstuvwxyz0123456789";
        const string rest = first + "._-";
        return from head in Gen.Elements(first.ToCharArray())
               from length in Gen.Choose(0, 63)
               from tail in Gen.Elements(rest.ToCharArray()).ArrayOf(length)
               select head + new string(tail);
    }
}
