using System.Text.Json;
using Monolith.Auditing.Logging;
using Monolith.Tests.Support;
using Serilog.Events;
using Serilog.Parsing;

namespace Monolith.Tests.Logging;

[Trait("Category", Categories.Unit)]
public sealed class LogRowTests
{
    [Fact]
    public void A_row_has_utc_time_lower_case_level_and_the_context_in_its_own_columns()
    {
        var at = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.FromHours(2));
        var row = LogRow.From(LogEvents.Event(at, LogEventLevel.Warning, "Saved {Count} rows", ("Count", 3),
            ("Tenant", "alpha"), ("UserId", "u-1"), ("RequestId", "r-1"), ("SourceContext", "Test")));

        Assert.Equal(TimeSpan.Zero, row.Time.Offset);
        Assert.Equal(at.UtcDateTime, row.Time.UtcDateTime);
        Assert.Equal("warning", row.Level);
        Assert.Equal("Saved 3 rows", row.Message);
        Assert.Equal("Saved {Count} rows", row.Template);
        Assert.Equal(("alpha", "u-1", "r-1"), (row.Tenant, row.UserId, row.RequestId));
        using var properties = JsonDocument.Parse(row.Properties);
        Assert.Equal(3, properties.RootElement.GetProperty("Count").GetInt32());
        Assert.False(properties.RootElement.TryGetProperty("Tenant", out _));
        Assert.Equal(7, row.Id.Version);
    }

    [Fact]
    public void Nul_characters_are_stripped_from_every_text_and_json_value()
    {
        var row = LogRow.From(LogEvents.Event(DateTimeOffset.UtcNow, LogEventLevel.Information, "a\0b {Value}",
            ("Value", "x\0y"), ("Nested\0Name", "z"), ("Tenant", "al\0pha")));

        foreach (var text in new[] { row.Message, row.Template, row.Properties, row.Tenant! })
        {
            Assert.DoesNotContain('\0', text);
            Assert.DoesNotContain("\\u0000", text, StringComparison.Ordinal);
        }

        Assert.Equal("alpha", row.Tenant);
        Assert.Contains("xy", row.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Line_breaks_in_the_message_are_neutralised_but_the_exception_keeps_its_lines()
    {
        var logEvent = LogEvents.Event(DateTimeOffset.UtcNow, LogEventLevel.Error, "{Name}", ("Name", "a\r\nb"));
        var withException = new LogEvent(logEvent.Timestamp, logEvent.Level, new InvalidOperationException("first\nsecond"),
            logEvent.MessageTemplate, logEvent.Properties.Select(p => new LogEventProperty(p.Key, p.Value)));
        var row = LogRow.From(withException);

        Assert.DoesNotContain('\n', row.Message);
        Assert.Contains("first\nsecond", row.Exception, StringComparison.Ordinal);
    }

    [Fact]
    public void Numbers_that_json_cannot_hold_are_written_as_text()
    {
        var row = LogRow.From(LogEvents.Event(DateTimeOffset.UtcNow, LogEventLevel.Information, "{A}", ("A", double.NaN)));
        Assert.Equal("NaN", JsonDocument.Parse(row.Properties).RootElement.GetProperty("A").GetString());
    }

    [Fact]
    public void The_fallback_line_is_one_json_document_per_event()
    {
        var row = LogRow.From(LogEvents.Event(DateTimeOffset.UtcNow, LogEventLevel.Information, "hello {Who}", ("Who", "world"), ("Tenant", "alpha")));
        using var line = JsonDocument.Parse(row.ToJsonLine());
        Assert.Equal("hello world", line.RootElement.GetProperty("message").GetString());
        Assert.Equal("alpha", line.RootElement.GetProperty("tenant").GetString());
        Assert.Equal("world", line.RootElement.GetProperty("properties").GetProperty("Who").GetString());
    }
}

internal static class LogEvents
{
    public static LogEvent Event(DateTimeOffset at, LogEventLevel level, string template, params (string Name, object? Value)[] properties) =>
        new(at, level, null, new MessageTemplateParser().Parse(template),
            properties.Select(p => new LogEventProperty(p.Name, new ScalarValue(p.Value))));
}
