using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Monolith.Tenancy;
using Monolith.Tests.Support;

namespace Monolith.Tests.Tenancy;

[Trait("Category", Categories.Unit)]
public sealed partial class TenantIdentifierTests
{
    [Theory]
    [InlineData("Acme", "lowercase")]
    [InlineData("a", "3 to 63")]
    [InlineData("ab", "3 to 63")]
    [InlineData("platform", "reserved")]
    [InlineData("hangfire", "reserved")]
    [InlineData("pg-catalog", "reserved")]
    [InlineData("information-schema", "reserved")]
    [InlineData("x;drop schema public", "lowercase")]
    [InlineData("acmé", "lowercase")]
    [InlineData("1acme", "start with a letter")]
    [InlineData("acme-", "end with '-'")]
    [InlineData("acme_corp", "lowercase")]
    [InlineData("", "required")]
    public void Bad_identifiers_are_refused_with_the_rule_they_break(string identifier, string reason)
    {
        var message = TenantIdentifier.Validate(identifier);
        Assert.NotNull(message);
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sixty_four_characters_are_too_many_and_sixty_three_are_fine()
    {
        Assert.NotNull(TenantIdentifier.Validate("a" + new string('b', 63)));
        Assert.Null(TenantIdentifier.Validate("a" + new string('b', 62)));
    }

    [Theory]
    [InlineData("acme")]
    [InlineData("acme-corp")]
    [InlineData("a1-b2-c3")]
    public void Good_identifiers_pass(string identifier) => Assert.Null(TenantIdentifier.Validate(identifier));

    [Property(MaxTest = 500)]
    public Property An_identifier_is_valid_exactly_when_it_matches_the_contract_rule(NonNull<string> input)
    {
        var value = input.Get;
        var expected = ContractRule().IsMatch(value) && value != "platform" && value != "public" && !value.StartsWith("pg-", StringComparison.Ordinal)
            && value is not ("admin" or "api" or "www" or "hangfire" or "logs" or "information-schema");
        // The implementation reserves a few more words than the contract lists; it must never accept what the rule refuses.
        var accepted = TenantIdentifier.IsValid(value);
        return (!accepted || expected).ToProperty();
    }

    [Property(MaxTest = 500)]
    public Property Generated_identifiers_map_to_distinct_safe_schema_names(PositiveInt seed)
    {
        var random = new Random(seed.Get);
        var a = Generate(random);
        var b = Generate(random);
        var schemaA = TenantIdentifier.SchemaNameOf(a);
        var schemaB = TenantIdentifier.SchemaNameOf(b);
        var safe = SchemaRule().IsMatch(schemaA) && schemaA.Length <= 63;
        var injective = a == b || schemaA != schemaB;
        return (safe && injective && TenantIdentifier.IsValid(a)).ToProperty();
    }

    private static string Generate(Random random)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
        while (true)
        {
            var length = random.Next(3, 64);
            var chars = new char[length];
            chars[0] = (char)('a' + random.Next(26));
            for (var i = 1; i < length; i++)
            {
                chars[i] = alphabet[random.Next(alphabet.Length)];
            }

            if (chars[^1] == '-')
            {
                chars[^1] = 'z';
            }

            var value = new string(chars);
            if (TenantIdentifier.IsValid(value))
            {
                return value;
            }
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContractRule();

    [GeneratedRegex("^[a-z][a-z0-9_]*$")]
    private static partial Regex SchemaRule();
}
