using FsCheck;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Monolith.SharedKernel.Paging;
using Monolith.SharedKernel.Preconditions;
using Monolith.SharedKernel.Validation;
using Monolith.Tests.Support;

namespace Monolith.Tests.SharedKernel;

/// <summary>The conventions every module uses from the shared kernel, as pure rules.</summary>
[Trait("Category", Categories.Unit)]
public sealed class SharedRulesTests
{
    private const string Current = "\"7-1700000000000\"";

    [Theory]
    [InlineData(null, true)]
    [InlineData(Current, true)]
    [InlineData("*", true)]
    [InlineData("\"1\", " + Current, true)]
    [InlineData("\"1\" ," + Current + " , \"2\"", true)]
    [InlineData("\"1\"", false)]
    [InlineData("W/" + Current, false)]
    [InlineData("W/\"1\", W/" + Current, false)]
    [InlineData("7-1700000000000", false)]
    [InlineData("garbage", false)]
    [InlineData("\"1\", garbage", false)]
    public void If_match_compares_strongly_accepts_a_star_and_a_list(string? header, bool allowed)
    {
        Assert.Equal(allowed, IfMatch.Allows(header is null ? StringValues.Empty : new StringValues(header), Current));
    }

    [Fact]
    public void If_match_accepts_the_tags_spread_over_several_header_lines()
    {
        Assert.True(IfMatch.Allows(new StringValues(["\"1\"", Current]), Current));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("*", false)]
    [InlineData(Current, false)]
    public void If_match_never_passes_for_a_resource_that_does_not_exist_unless_absent(string? header, bool allowed)
    {
        Assert.Equal(allowed, IfMatch.Allows(header is null ? StringValues.Empty : new StringValues(header), currentETag: null));
    }

    [Fact]
    public void A_weak_current_etag_never_matches_strongly()
    {
        Assert.False(IfMatch.Allows(new StringValues("W/\"1\""), "W/\"1\""));
        Assert.True(IfMatch.Allows(new StringValues("*"), "W/\"1\""));
    }

    [Fact]
    public void If_match_reads_the_request_header()
    {
        var http = new DefaultHttpContext();
        Assert.False(IfMatch.IsPresent(http.Request));
        Assert.True(IfMatch.Allows(http.Request, Current));

        http.Request.Headers.IfMatch = "\"other\"";
        Assert.True(IfMatch.IsPresent(http.Request));
        Assert.False(IfMatch.Allows(http.Request, Current));
    }

    [Fact]
    public void Validation_errors_collect_every_message_per_field_in_order()
    {
        var errors = new ValidationErrors();
        Assert.False(errors.Any);

        errors.Add("email", "first");
        errors.AddIfAny("email", null);
        errors.AddIfAny("email", "second");
        errors.AddAll([new KeyValuePair<string, string[]>("name", ["third", "fourth"])]);

        Assert.True(errors.Any);
        Assert.True(errors.Has("email"));
        Assert.False(errors.Has("Email"));
        var result = errors.ToDictionary();
        Assert.Equal(["first", "second"], result["email"]);
        Assert.Equal(["third", "fourth"], result["name"]);
    }

    [Theory]
    [InlineData("a@b.co", true)]
    [InlineData("First.Last+tag@sub.example.com", true)]
    [InlineData("owner@demo.local", true)]
    [InlineData("plain", false)]
    [InlineData("a@b", false)]
    [InlineData("a b@c.de", false)]
    [InlineData("\"quoted\"@example.com", true)]
    [InlineData("Someone <a@b.co>", false)]
    [InlineData("a@[127.0.0.1]", false)]
    [InlineData(" a@b.co", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void One_email_rule(string? address, bool valid)
    {
        Assert.Equal(valid, EmailAddresses.IsValid(address));
    }

    [Property]
    public bool An_email_is_never_valid_beyond_254_characters_or_without_exactly_one_at(NonEmptyString local, PositiveInt padding)
    {
        var address = local.Get + "@" + new string('d', padding.Get % 300) + ".example";
        var valid = EmailAddresses.IsValid(address);
        return !valid || (address.Length <= EmailAddresses.MaxLength && address.Count(c => c == '@') == 1);
    }

    [Property]
    public bool A_phone_is_valid_exactly_when_it_is_plus_then_2_to_15_digits_the_first_not_0(string? phone)
    {
        var value = phone ?? "+";
        var oracle = value.Length is >= 3 and <= 16 && value[0] == '+' && value[1] is >= '1' and <= '9' && value[1..].All(char.IsAsciiDigit);
        return PhoneNumbers.IsValid(value) == oracle;
    }

    [Fact]
    public void Unknown_query_parameters_are_named_known_ones_pass()
    {
        var http = new DefaultHttpContext();
        http.Request.QueryString = new QueryString("?limit=5&cursor=x&stauts=active&Status=inactive");
        var errors = new ValidationErrors();

        ListQuery.RejectUnknownParameters(http.Request, errors, "status", "limit", "cursor");

        Assert.Equal(["Status", "stauts"], errors.ToDictionary().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_list_without_parameters_names_every_one_it_is_given()
    {
        var http = new DefaultHttpContext();
        http.Request.QueryString = new QueryString("?page=2");
        var errors = new ValidationErrors();

        ListQuery.RejectUnknownParameters(http.Request, errors);

        Assert.Equal(["page"], errors.ToDictionary().Keys);
    }

    [Theory]
    [InlineData(null, PageRequest.DefaultLimit, false)]
    [InlineData("1", 1, false)]
    [InlineData("200", 200, false)]
    [InlineData("0", PageRequest.DefaultLimit, true)]
    [InlineData("201", PageRequest.DefaultLimit, true)]
    [InlineData("ten", PageRequest.DefaultLimit, true)]
    public void Limits_are_1_to_200_default_50(string? limit, int expected, bool invalid)
    {
        var errors = new ValidationErrors();
        var page = PageRequest.Parse(limit, null, errors);
        Assert.Equal(expected, page.Limit);
        Assert.Equal(expected + 1, page.ReadCount);
        Assert.Equal(invalid, errors.Has("limit"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void A_page_holds_at_most_limit_rows_and_a_cursor_only_when_more_were_read(int read)
    {
        var page = new PageRequest(3, null).ToPage(Enumerable.Range(1, read).ToList(), n => n);

        Assert.Equal(Enumerable.Range(1, Math.Min(read, 3)), page.Items);
        if (read > 3)
        {
            Assert.True(Cursor.TryDecode<int>(page.NextCursor, out var position));
            Assert.Equal(3, position);
        }
        else
        {
            Assert.Null(page.NextCursor);
        }
    }

    [Fact]
    public void A_page_maps_its_items_and_keeps_its_cursor()
    {
        var page = new PageRequest(1, null).ToPage(new List<int> { 1, 2 }, n => n).Select(n => $"item {n}");
        Assert.Equal(["item 1"], page.Items);
        Assert.NotNull(page.NextCursor);
    }
}
