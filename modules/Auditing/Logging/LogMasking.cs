using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Serilog.Core;
using Serilog.Events;

namespace Monolith.Auditing.Logging;

/// <summary>
/// The rules that keep secrets and personal data out of the logs (CONTRACT §6). By property name: passwords,
/// tokens, secrets, keys, connection strings, credentials, cookies and Authorization headers are replaced by
/// <see cref="Redacted"/>; e-mail and phone properties are masked. By value shape, in any string:
/// <c>Bearer …</c>/<c>Basic …</c> credentials, JWTs, <c>Password=…</c> (and friends) in connection strings
/// and query strings, <c>user:password@</c> in URLs, e-mail addresses and international phone numbers.
/// CR and LF become the two-character escapes <c>\r</c> and <c>\n</c>, so no value can forge a log line.
/// </summary>
internal static partial class LogMasker
{
    public const string Redacted = "***";

    // Compared after lower-casing and removing '-', '_', '.' and spaces: "X-Api-Key" -> "xapikey".
    private static readonly string[] SensitiveFragments =
    [
        "password", "passwd", "passphrase", "pwd", "secret", "token", "authorization", "cookie", "credential",
        "connectionstring", "apikey", "signingkey", "privatekey", "secretkey", "accesskey", "platformkey",
        "encryptionkey", "clientsecret", "otp", "sessionid",
    ];

    private static readonly string[] EmailNames = ["email", "mail", "emailaddress", "owneremail", "actoremail"];

    private static readonly string[] PhoneNames = ["phone", "phonenumber", "mobile", "tel", "telephone", "msisdn"];

    /// <summary>Property names whose value is a secret, whatever it looks like.</summary>
    public static bool IsSensitiveName(string name)
    {
        var normalized = Normalize(name);
        if (normalized.Length == 0)
        {
            return false;
        }

        // A bare "Key" stays readable (feature-toggle keys, idempotency keys); keys that say what they open do not.
        if (normalized is "pat" or "jwt")
        {
            return true;
        }

        foreach (var fragment in SensitiveFragments)
        {
            if (normalized.Contains(fragment, StringComparison.Ordinal))
            {
                // "otp" and "pwd" only as a whole word or suffix, so "otpEnabled" style names and "footprint" stay readable.
                if (fragment is "otp" or "pwd" && !(normalized == fragment || normalized.EndsWith(fragment, StringComparison.Ordinal)))
                {
                    continue;
                }

                return true;
            }
        }

        return false;
    }

    private static bool IsEmailName(string name) => Array.IndexOf(EmailNames, Normalize(name)) >= 0;

    private static bool IsPhoneName(string name) => Array.IndexOf(PhoneNames, Normalize(name)) >= 0;

    private static string Normalize(string name)
    {
        Span<char> buffer = name.Length <= 128 ? stackalloc char[name.Length] : new char[name.Length];
        var length = 0;
        foreach (var c in name)
        {
            if (c is '-' or '_' or '.' or ' ' or '$' or '@')
            {
                continue;
            }

            buffer[length++] = char.ToLowerInvariant(c);
        }

        return new string(buffer[..length]);
    }

    /// <summary>Masks a string by shape (credentials, e-mail, phone) and, unless told otherwise, neutralises CR/LF.</summary>
    public static string MaskValue(string value, bool neutraliseLineBreaks = true)
    {
        if (value.Length == 0)
        {
            return value;
        }

        var result = value;
        if (result.Contains("earer", StringComparison.OrdinalIgnoreCase) || result.Contains("asic ", StringComparison.OrdinalIgnoreCase))
        {
            result = AuthorizationScheme().Replace(result, m => m.Groups[1].Value + " " + Redacted);
        }

        if (result.Contains("eyJ", StringComparison.Ordinal))
        {
            result = Jwt().Replace(result, Redacted);
        }

        if (result.Contains('='))
        {
            result = SecretAssignment().Replace(result, m => m.Groups[1].Value + m.Groups[2].Value + Redacted);
        }

        if (result.Contains(':'))
        {
            result = SecretColon().Replace(result, m => m.Groups[1].Value + m.Groups[2].Value + Redacted);
        }

        if (result.Contains("://", StringComparison.Ordinal))
        {
            result = UrlUserInfo().Replace(result, m => m.Groups[1].Value + Redacted + "@");
        }

        if (result.Contains('@'))
        {
            result = Email().Replace(result, m => MaskEmail(m.Value));
        }

        if (result.Contains('+'))
        {
            result = Phone().Replace(result, m => MaskPhone(m.Value));
        }

        return neutraliseLineBreaks ? NeutraliseLineBreaks(result) : result;
    }

    /// <summary>The value of a property named <paramref name="name"/>: redacted, masked or masked by shape.</summary>
    public static string MaskNamedValue(string name, string value)
    {
        if (IsSensitiveName(name))
        {
            return Redacted;
        }

        if (IsEmailName(name))
        {
            return Email().IsMatch(value) ? MaskValue(value) : MaskEmail(value);
        }

        if (IsPhoneName(name))
        {
            return MaskPhone(value);
        }

        return MaskValue(value);
    }

    public static string NeutraliseLineBreaks(string value) =>
        value.AsSpan().IndexOfAny('\r', '\n') < 0 ? value : value.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary><c>jane.doe@example.com</c> → <c>j***@example.com</c>: enough to tell accounts apart in support, not enough to harvest.</summary>
    public static string MaskEmail(string email)
    {
        var at = email.LastIndexOf('@');
        if (at <= 0)
        {
            return Redacted;
        }

        return string.Concat(email.AsSpan(0, 1), Redacted, email.AsSpan(at));
    }

    /// <summary>Keeps the last two digits: <c>+4915112345678</c> → <c>+***78</c>.</summary>
    public static string MaskPhone(string phone)
    {
        var digits = phone.Where(char.IsAsciiDigit).ToArray();
        if (digits.Length < 4)
        {
            return Redacted;
        }

        return (phone.TrimStart().StartsWith('+') ? "+" : string.Empty) + Redacted + new string(digits[^2..]);
    }

    [GeneratedRegex(@"\b(Bearer|Basic|Digest|Token)\s+[A-Za-z0-9\-._~+/=:]{4,}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AuthorizationScheme();

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*", RegexOptions.CultureInvariant)]
    private static partial Regex Jwt();

    // "Password=...;" in connection strings and "?token=..." in query strings: the value runs to ';' or the end of the line
    // (a password may hold '&', ',' or spaces; in a query string the parameters after a secret are masked with it).
    [GeneratedRegex(
        @"\b((?:user\s*)?password|passwd|pwd|secret|client_?secret|access_?token|refresh_?token|id_?token|token|api[-_]?key|apikey|signing_?key|platform_?key)([""']?\s*=\s*)(?:""(?:[^""]|"""")*""|'(?:[^']|'')*'|[^;\r\n]*)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretAssignment();

    // "api_key: ..." in messages and "password": "..." in JSON: the value is one word or one quoted string.
    [GeneratedRegex(
        @"\b((?:user\s*)?password|passwd|pwd|secret|client_?secret|access_?token|refresh_?token|id_?token|token|api[-_]?key|apikey|signing_?key|platform_?key)([""']?\s*:\s*)(?:""(?:[^""\\]|\\.)*""|'(?:[^']|'')*'|[^\s;&,""']+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretColon();

    [GeneratedRegex(@"([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlUserInfo();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    // International numbers: E.164 (+4915112345678) and written with spaces, dots, dashes or brackets.
    [GeneratedRegex(@"(?<![\w+])\+[1-9](?:[\s.\-()]?\d){6,14}(?!\w)", RegexOptions.CultureInvariant)]
    private static partial Regex Phone();

    /// <summary>Masks a captured property value, recursing into structures, dictionaries and sequences.</summary>
    public static LogEventPropertyValue Mask(string name, LogEventPropertyValue value, int depth = 0)
    {
        if (depth > 10)
        {
            return value;
        }

        switch (value)
        {
            case ScalarValue { Value: null }:
                return value;
            case ScalarValue when IsSensitiveName(name):
                return new ScalarValue(Redacted);
            case ScalarValue { Value: string s }:
                var masked = MaskNamedValue(name, s);
                return ReferenceEquals(masked, s) ? value : new ScalarValue(masked);
            case ScalarValue { Value: Uri uri }:
                return new ScalarValue(MaskValue(uri.ToString()));
            case ScalarValue other when IsEmailName(name) || IsPhoneName(name):
                return new ScalarValue(MaskNamedValue(name, Convert.ToString(other.Value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty));
            case ScalarValue:
                return value;
            case StructureValue structure:
                return new StructureValue(
                    structure.Properties.Select(p => new LogEventProperty(p.Name, IsSensitiveName(p.Name) ? new ScalarValue(Redacted) : Mask(p.Name, p.Value, depth + 1))),
                    structure.TypeTag);
            case DictionaryValue dictionary:
                return new DictionaryValue(dictionary.Elements.Select(e =>
                {
                    var key = e.Key.Value?.ToString() ?? string.Empty;
                    var keyValue = e.Key.Value is string k ? new ScalarValue(NeutraliseLineBreaks(k)) : e.Key;
                    return new KeyValuePair<ScalarValue, LogEventPropertyValue>(keyValue,
                        IsSensitiveName(key) ? new ScalarValue(Redacted) : Mask(key, e.Value, depth + 1));
                }));
            case SequenceValue sequence:
                return new SequenceValue(sequence.Elements.Select(e => Mask(name, e, depth + 1)));
            default:
                return value;
        }
    }
}

/// <summary>Masks every property of every event (including those from the log context) before any sink sees it.</summary>
internal sealed class MaskingEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        List<LogEventProperty>? changed = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            var masked = LogMasker.Mask(name, value);
            if (!ReferenceEquals(masked, value))
            {
                (changed ??= []).Add(new LogEventProperty(name, masked));
            }
        }

        if (changed is null)
        {
            return;
        }

        foreach (var property in changed)
        {
            logEvent.AddOrUpdateProperty(property);
        }
    }
}

/// <summary>
/// Destructures objects (<c>{@Request}</c>) without their secrets: members with sensitive names are captured as
/// <see cref="LogMasker.Redacted"/> and never read; connection string builders and header collections lose
/// their credentials. Everything else is left to Serilog's default destructuring.
/// </summary>
internal sealed class MaskingDestructuringPolicy : IDestructuringPolicy
{
    public bool TryDestructure(object value, ILogEventPropertyValueFactory propertyValueFactory, out LogEventPropertyValue result)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(propertyValueFactory);
        result = null!;
        var type = value.GetType();
        if (type.IsPrimitive || type.IsEnum || value is string or decimal or DateTime or DateTimeOffset or TimeSpan or Guid or Uri or Delegate
            || value is Exception || type.Namespace?.StartsWith("System.Reflection", StringComparison.Ordinal) == true)
        {
            return false;
        }

        if (value is System.Data.Common.DbConnectionStringBuilder builder)
        {
            result = new ScalarValue(LogMasker.MaskValue(builder.ConnectionString));
            return true;
        }

        if (value is IDictionary dictionary)
        {
            var elements = new List<KeyValuePair<ScalarValue, LogEventPropertyValue>>();
            foreach (DictionaryEntry entry in dictionary)
            {
                var key = Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
                elements.Add(new(new ScalarValue(key), LogMasker.IsSensitiveName(key)
                    ? new ScalarValue(LogMasker.Redacted)
                    : LogMasker.Mask(key, propertyValueFactory.CreatePropertyValue(entry.Value, destructureObjects: true))));
            }

            result = new DictionaryValue(elements);
            return true;
        }

        if (value is IEnumerable)
        {
            // Sequences and generic dictionaries (header collections): Serilog captures them, the enricher masks them by key.
            return false;
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
            .ToArray();
        if (properties.Length == 0)
        {
            return false;
        }

        var captured = new List<LogEventProperty>(properties.Length);
        foreach (var property in properties)
        {
            if (LogMasker.IsSensitiveName(property.Name))
            {
                captured.Add(new LogEventProperty(property.Name, new ScalarValue(LogMasker.Redacted)));
                continue;
            }

            object? member;
            try
            {
                member = property.GetValue(value);
            }
            catch (TargetInvocationException e)
            {
                member = $"threw {e.InnerException?.GetType().Name}";
            }

            captured.Add(new LogEventProperty(property.Name, LogMasker.Mask(property.Name, propertyValueFactory.CreatePropertyValue(member, destructureObjects: true))));
        }

        result = new StructureValue(captured, type.Name.StartsWith('<') ? null : type.Name); // anonymous types carry no tag
        return true;
    }
}
