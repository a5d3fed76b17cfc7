using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Monolith.Tenancy.Jobs;
using Monolith.Auditing.Trail;
using Monolith.Tests.Support;

namespace Monolith.Tests.Auditing;

/// <summary>Pure rules: how recorded column names become API field names, and how the dashboard reads a Basic login.</summary>
[Trait("Category", Categories.Unit)]
public sealed class AuditFormattingTests
{
    [Theory]
    [InlineData("password_hash", "passwordHash")]
    [InlineData("id", "id")]
    [InlineData("legal_name", "legalName")]
    [InlineData("failed_login_since", "failedLoginSince")]
    [InlineData("value", "value")]
    public void Column_names_become_camel_cased_field_names(string column, string field) =>
        Assert.Equal(field, ListAuditEvents.CamelCase(column));

    [Property(MaxTest = 500)]
    public Property Camel_casing_a_column_drops_its_underscores_and_keeps_its_letters_in_order()
    {
        var letters = "abcdefghijklmnopqrstuvwxyz".ToCharArray();
        var columns =
            from first in Gen.Elements(letters)
            from rest in Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789_".ToCharArray()))
            select first + new string(rest);
        return Prop.ForAll(columns.ToArbitrary(), column =>
        {
            var field = ListAuditEvents.CamelCase(column);
            return !field.Contains('_', StringComparison.Ordinal)
                && string.Equals(field.ToLowerInvariant(), column.Replace("_", "", StringComparison.Ordinal), StringComparison.Ordinal)
                && char.IsLower(field[0]);
        });
    }

    [Fact]
    public void Redacted_changes_keep_no_values()
    {
        var changes = ListAuditEvents.Changes("""{"password_hash": {"redacted": true}, "name": {"old": "a", "new": "b"}}""");
        Assert.Equal("""{"redacted":true}""", changes["passwordHash"]!.ToJsonString());
        Assert.Equal("b", changes["name"]!["new"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("operator:the-key", "the-key")]
    [InlineData(":the:key", "the:key")]
    public void The_dashboard_takes_the_password_of_a_basic_login(string credentials, string password) =>
        Assert.Equal(password, PlatformKeyDashboardAuthorization.BasicPassword("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials))));

    [Theory]
    [InlineData("")]
    [InlineData("Bearer abc")]
    [InlineData("Basic not-base64!")]
    [InlineData("Basic bm9jb2xvbg==")] // "nocolon"
    public void Anything_else_is_no_password(string header) => Assert.Null(PlatformKeyDashboardAuthorization.BasicPassword(header));
}
