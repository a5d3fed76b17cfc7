using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serilog.Events;
using Serilog.Parsing;

namespace Monolith.Auditing.Logging;

/// <summary>
/// One row of <c>logs.events</c>, made from a log event: UTC time, lower-case level, the rendered message,
/// the template, the exception, the three context columns and the other properties as JSON. No text in it
/// carries a NUL character (PostgreSQL text and jsonb cannot hold one).
/// </summary>
public sealed record LogRow(
    Guid Id,
    DateTimeOffset Time,
    string Level,
    string Message,
    string Template,
    string? Exception,
    string? Tenant,
    string? UserId,
    string? RequestId,
    string Properties)
{
    public const string TenantProperty = "Tenant";
    public const string UserIdProperty = "UserId";
    public const string RequestIdProperty = "RequestId";

    private const int MaxContextLength = 256;

    public static string LevelName(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "verbose",
        LogEventLevel.Debug => "debug",
        LogEventLevel.Information => "information",
        LogEventLevel.Warning => "warning",
        LogEventLevel.Error => "error",
        _ => "fatal",
    };

    public static LogRow From(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        var time = logEvent.Timestamp.ToUniversalTime();
        var message = LogMasker.MaskValue(StripNul(RenderLiteral(logEvent)));
        var exception = logEvent.Exception is null ? null : LogMasker.MaskValue(StripNul(logEvent.Exception.ToString()), neutraliseLineBreaks: false);
        return new LogRow(
            Guid.CreateVersion7(time),
            time,
            LevelName(logEvent.Level),
            message,
            StripNul(logEvent.MessageTemplate.Text),
            exception,
            Context(logEvent, TenantProperty),
            Context(logEvent, UserIdProperty),
            Context(logEvent, RequestIdProperty),
            PropertiesJson(logEvent.Properties));
    }

    /// <summary>The message as the console shows it (<c>{Message:lj}</c>): strings without quotes, structures as Serilog renders them.</summary>
    public static string RenderLiteral(LogEvent logEvent)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        var output = new StringWriter(CultureInfo.InvariantCulture);
        foreach (var token in logEvent.MessageTemplate.Tokens)
        {
            switch (token)
            {
                case TextToken text:
                    output.Write(text.Text);
                    break;
                case PropertyToken property when logEvent.Properties.TryGetValue(property.PropertyName, out var value):
                    if (value is ScalarValue { Value: string literal })
                    {
                        output.Write(literal);
                    }
                    else
                    {
                        value.Render(output, property.Format, CultureInfo.InvariantCulture);
                    }

                    break;
                default:
                    output.Write(token.ToString());
                    break;
            }
        }

        return output.ToString();
    }

    public static string StripNul(string value) => value.Contains('\0', StringComparison.Ordinal) ? value.Replace("\0", string.Empty, StringComparison.Ordinal) : value;

    private static string? Context(LogEvent logEvent, string name)
    {
        if (!logEvent.Properties.TryGetValue(name, out var value) || value is not ScalarValue { Value: { } raw })
        {
            return null;
        }

        var text = StripNul(LogMasker.NeutraliseLineBreaks(Convert.ToString(raw, CultureInfo.InvariantCulture) ?? string.Empty));
        return text.Length == 0 ? null : text.Length > MaxContextLength ? text[..MaxContextLength] : text;
    }

    /// <summary>The event's properties except the three that have columns, as a JSON object.</summary>
    public static string PropertiesJson(IReadOnlyDictionary<string, LogEventPropertyValue> properties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in properties)
            {
                if (name is TenantProperty or UserIdProperty or RequestIdProperty)
                {
                    continue;
                }

                writer.WritePropertyName(StripNul(name));
                Write(writer, value, 0);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The row as one JSON line, for the fallback while the database is unreachable.</summary>
    public string ToJsonLine()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("time", Time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteString("level", Level);
            writer.WriteString("message", Message);
            writer.WriteString("template", Template);
            WriteOptional(writer, "exception", Exception);
            WriteOptional(writer, "tenant", Tenant);
            WriteOptional(writer, "userId", UserId);
            WriteOptional(writer, "requestId", RequestId);
            writer.WritePropertyName("properties");
            writer.WriteRawValue(Properties, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void Write(Utf8JsonWriter writer, LogEventPropertyValue value, int depth)
    {
        if (depth > 16)
        {
            writer.WriteStringValue("…");
            return;
        }

        switch (value)
        {
            case ScalarValue scalar:
                WriteScalar(writer, scalar.Value);
                break;
            case SequenceValue sequence:
                writer.WriteStartArray();
                foreach (var element in sequence.Elements)
                {
                    Write(writer, element, depth + 1);
                }

                writer.WriteEndArray();
                break;
            case StructureValue structure:
                writer.WriteStartObject();
                if (structure.TypeTag is { } tag)
                {
                    writer.WriteString("$type", StripNul(tag));
                }

                foreach (var property in structure.Properties)
                {
                    writer.WritePropertyName(StripNul(property.Name));
                    Write(writer, property.Value, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case DictionaryValue dictionary:
                writer.WriteStartObject();
                foreach (var (key, element) in dictionary.Elements)
                {
                    writer.WritePropertyName(StripNul(Convert.ToString(key.Value, CultureInfo.InvariantCulture) ?? "null"));
                    Write(writer, element, depth + 1);
                }

                writer.WriteEndObject();
                break;
            default:
                writer.WriteStringValue(StripNul(value.ToString()));
                break;
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(StripNul(s));
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int or long or short or sbyte or byte or ushort or uint:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                writer.WriteNumberValue(u);
                break;
            case decimal m:
                writer.WriteNumberValue(m);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case float f when float.IsFinite(f):
                writer.WriteNumberValue(f);
                break;
            case DateTimeOffset dto:
                writer.WriteStringValue(dto.ToString("O", CultureInfo.InvariantCulture));
                break;
            case DateTime dt:
                writer.WriteStringValue(dt.ToString("O", CultureInfo.InvariantCulture));
                break;
            case Guid g:
                writer.WriteStringValue(g);
                break;
            case IFormattable formattable:
                writer.WriteStringValue(StripNul(formattable.ToString(null, CultureInfo.InvariantCulture)));
                break;
            default:
                writer.WriteStringValue(StripNul(value.ToString() ?? string.Empty));
                break;
        }
    }
}
