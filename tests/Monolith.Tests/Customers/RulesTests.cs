using FsCheck;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http;
using Monolith.Customers.Common;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Idempotency;
using Monolith.Tests.Support;

namespace Monolith.Tests.Customers;

[Trait("Category", Categories.Unit)]
public sealed class RulesTests
{
    [Property]
    public bool A_phone_is_valid_exactly_when_it_is_plus_then_2_to_15_digits_the_first_not_0(string? phone)
    {
        var errors = new ValidationErrors();
        Rules.Phone(errors, "phone", phone ?? "+");
        var value = phone ?? "+";
        var oracle = value.Length is >= 3 and <= 16 && value[0] == '+' && value[1] is >= '1' and <= '9' && value[1..].All(c => c is >= '0' and <= '9');
        return errors.Any != oracle;
    }

    [Property]
    public bool Numbers_built_to_e164_are_accepted_when_2_to_15_digits_long(PositiveInt first, NonNegativeInt[] rest)
    {
        var digits = (first.Get % 9 + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)
            + string.Concat(rest.Select(d => (d.Get % 10).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var errors = new ValidationErrors();
        Rules.Phone(errors, "phone", "+" + digits);
        return errors.Any == digits.Length is < 2 or > 15;
    }

    [Property]
    public bool Accepted_text_is_1_to_200_code_points_not_blank_and_free_of_control_characters(string? text)
    {
        var errors = new ValidationErrors();
        Rules.Text(errors, "name", text, Rules.NameMax, required: true);
        var ok = text is not null && !string.IsNullOrWhiteSpace(text) && text.EnumerateRunes().Count() <= 200 && !text.Any(char.IsControl);
        return errors.Any != ok;
    }

    [Theory]
    [InlineData("a@b.co", true)]
    [InlineData("First.Last+tag@sub.example.com", true)]
    [InlineData("o'brien@example.ie", true)]
    [InlineData("x');DROP_TABLE--customers@evil.example", true)]
    [InlineData("plain", false)]
    [InlineData("@example.com", false)]
    [InlineData("a@b", false)]
    [InlineData("a@b.c", false)]
    [InlineData("a@@b.co", false)]
    [InlineData("a b@c.de", false)]
    [InlineData("a@-bad.example", false)]
    [InlineData("a@example.com.", false)]
    public void Email_addresses_are_checked_pragmatically(string email, bool valid)
    {
        var errors = new ValidationErrors();
        Rules.Email(errors, "email", email);
        Assert.Equal(valid, !errors.Any);
    }

    [Theory]
    [InlineData("DE", "DE")]
    [InlineData("us", "US")]
    [InlineData("XK", null)]
    [InlineData("UK", null)]
    [InlineData("DEU", null)]
    public void Countries_are_assigned_iso_3166_alpha_2_codes(string input, string? expected)
    {
        Assert.Equal(expected, Rules.Country(new ValidationErrors(), "country", input));
    }

    [Theory]
    [InlineData("50%", @"%50\%%")]
    [InlineData("a_b", @"%a\_b%")]
    [InlineData(@"back\slash", @"%back\\slash%")]
    [InlineData("plain", "%plain%")]
    public void Search_terms_match_wildcards_literally(string term, string pattern)
    {
        Assert.Equal(pattern, Sql.ContainsPattern(term));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("\"42\"", true)]
    [InlineData("*", true)]
    [InlineData("\"1\", \"42\"", true)]
    [InlineData("\"41\"", false)]
    [InlineData("W/\"42\"", false)]
    [InlineData("garbage", false)]
    public void If_match_uses_strong_comparison(string? header, bool allowed)
    {
        var http = new DefaultHttpContext();
        if (header is not null)
        {
            http.Request.Headers.IfMatch = header;
        }

        Assert.Equal(allowed, ETags.IfMatchAllows(http, 42));
    }

    [Theory]
    [InlineData("abc-123", true)]
    [InlineData("550e8400-e29b-41d4-a716-446655440000", true)]
    [InlineData("", false)]
    [InlineData("with space", false)]
    [InlineData("ünï", false)]
    public void Idempotency_keys_are_1_to_255_visible_ascii_characters(string key, bool valid)
    {
        Assert.Equal(valid, IdempotencyFilter.IsValidKey(key));
        Assert.False(IdempotencyFilter.IsValidKey(new string('k', 256)));
    }
}
