using FsCheck;
using FsCheck.Xunit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monolith.Access;
using Monolith.Access.Passwords;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.SharedKernel.Context;
using Monolith.Tests.Support;

namespace Monolith.Tests.Access;

[Trait("Category", Categories.Unit)]
public sealed class AccessRulesTests
{
    private static string RoleOf(int i) => Roles.All[Math.Abs(i % Roles.All.Count)];

    [Property]
    public bool Nobody_grants_a_role_above_their_own(int actor, int granted) =>
        UserRules.CanGrant(RoleOf(actor), RoleOf(granted)) == (Roles.Rank(RoleOf(granted)) <= Roles.Rank(RoleOf(actor)) && Roles.Rank(RoleOf(actor)) >= Roles.Rank(Roles.Admin));

    [Property]
    public bool Only_admins_and_owners_manage_and_only_owners_manage_owners(int actor, int target) =>
        UserRules.CanManage(RoleOf(actor), RoleOf(target))
        == (Roles.IsAtLeast(RoleOf(actor), Roles.Admin) && (RoleOf(target) != Roles.Owner || RoleOf(actor) == Roles.Owner));

    [Property]
    public bool Unknown_roles_are_never_granted(NonEmptyString role) =>
        Roles.IsValid(role.Get) || !UserRules.CanGrant(Roles.Owner, role.Get);

    [Fact]
    public void The_last_active_owner_is_kept_and_one_of_several_may_go()
    {
        var only = Guid.NewGuid();
        var other = Guid.NewGuid();
        Assert.True(UserRules.RemovesLastOwner([only], only, staysActiveOwner: false));
        Assert.False(UserRules.RemovesLastOwner([only], only, staysActiveOwner: true));
        Assert.False(UserRules.RemovesLastOwner([only, other], only, staysActiveOwner: false));
        Assert.False(UserRules.RemovesLastOwner([only], other, staysActiveOwner: false));
    }

    [Property]
    public bool Passwords_shorter_than_12_characters_are_refused(NonEmptyString password) =>
        password.Get.Length >= 12 || UserPasswords.Validate(password.Get, "someone@example.test") is not null;

    [Property]
    public bool Passwords_of_12_to_256_characters_other_than_the_email_are_accepted(NonEmptyString seed)
    {
        var password = ("pw-" + seed.Get + new string('x', 12))[..Math.Min(256, seed.Get.Length + 15)];
        return UserPasswords.Validate(password, "someone@example.test") is null;
    }

    [Fact]
    public void A_password_equal_to_the_email_is_refused_whatever_its_case()
    {
        Assert.NotNull(UserPasswords.Validate("Someone@Example.test", "someone@example.test"));
        Assert.NotNull(UserPasswords.Validate(new string('a', 257), "someone@example.test"));
    }

    [Fact]
    public void Hashes_verify_and_are_salted()
    {
        var passwords = new UserPasswords();
        var a = passwords.Hash("correct-horse-battery-staple");
        var b = passwords.Hash("correct-horse-battery-staple");
        Assert.NotEqual(a, b);
        Assert.Equal(PasswordCheck.Success, passwords.Verify(a, "correct-horse-battery-staple"));
        Assert.Equal(PasswordCheck.Failed, passwords.Verify(a, "correct-horse-battery-stapler"));
    }

    [Fact]
    public void Generated_passwords_are_long_random_and_pass_the_policy()
    {
        var generated = Enumerable.Range(0, 20).Select(_ => UserPasswords.Generate()).ToList();
        Assert.Equal(20, generated.Distinct().Count());
        Assert.All(generated, p => Assert.Null(UserPasswords.Validate(p, "owner@example.test")));
    }

    [Fact]
    public void A_missing_signing_key_in_production_is_a_start_up_error_with_a_clear_message()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Keys(null, Environments.Production));
        Assert.Contains("Auth__SigningKey", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public void A_weak_signing_key_is_a_start_up_error(string environment)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Keys("too-short-a-key", environment));
        Assert.Contains("Auth__SigningKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("32", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short-a-key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Outside_production_a_missing_key_becomes_a_random_one()
    {
        var a = Keys(null, Environments.Development).Key.Key;
        var b = Keys(null, Environments.Development).Key.Key;
        Assert.Equal(32, a.Length);
        Assert.NotEqual(a, b);
    }

    private static SigningKeys Keys(string? key, string environment) =>
        new(Options.Create(new AccessOptions { SigningKey = key }), new Env(environment), NullLogger<SigningKeys>.Instance);

    private sealed class Env(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "tests";

        public string ContentRootPath { get; set; } = "/";

        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }
}
