using System.Text.Json;
using System.Text.RegularExpressions;

namespace Monolith.Customers.Common;

/// <summary>
/// Field rules shared by the module's endpoints. Text is stored exactly as sent (no trimming, no escaping:
/// every statement is parameterized); what is refused is what could never be stored or shown sanely.
/// Lengths count Unicode code points, as PostgreSQL's char_length does.
/// </summary>
internal static partial class Rules
{
    public const int NameMax = 200;
    public const int LegalNameMax = 200;
    public const int EmailMax = 254;
    public const int CodeMax = 50;
    public const int AddressMax = 500;
    public const int MaxProjectsPerRequest = 100;

    public static readonly IReadOnlyList<string> CustomerStatuses = ["active", "inactive"];
    public static readonly IReadOnlyList<string> ProjectStatuses = ["active", "archived"];

    /// <summary>A required or optional single-line text: 1..max code points, not blank, no control characters.</summary>
    public static void Text(Errors errors, string field, string? value, int max, bool required, bool multiline = false)
    {
        if (value is null)
        {
            if (required)
            {
                errors.Add(field, $"{field} is required.");
            }

            return;
        }

        var length = value.EnumerateRunes().Count();
        if (length == 0 || string.IsNullOrWhiteSpace(value))
        {
            errors.Add(field, $"{field} must not be empty or blank.");
        }
        else if (length > max)
        {
            errors.Add(field, $"{field} must be at most {max} characters.");
        }
        else if (HasForbiddenControl(value, multiline))
        {
            errors.Add(field, multiline
                ? $"{field} must not contain control characters other than tab and line breaks."
                : $"{field} must not contain control characters or line breaks.");
        }
    }

    public static void Email(Errors errors, string field, string? value)
    {
        if (value is null)
        {
            errors.Add(field, $"{field} is required.");
        }
        else if (value.Length > EmailMax || !EmailFormat().IsMatch(value))
        {
            errors.Add(field, $"{field} must be a valid e-mail address (local@domain.tld, at most {EmailMax} characters).");
        }
    }

    public static void Phone(Errors errors, string field, string? value)
    {
        if (value is not null && !PhoneFormat().IsMatch(value))
        {
            errors.Add(field, $"{field} must be in E.164 format: '+' then 2 to 15 digits, the first not 0 (e.g. +4930123456).");
        }
    }

    public static void OneOf(Errors errors, string field, string? value, IReadOnlyList<string> allowed, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                errors.Add(field, $"{field} is required.");
            }
        }
        else if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            errors.Add(field, $"{field} must be one of: {string.Join(", ", allowed)}.");
        }
    }

    /// <summary>ISO 3166-1 alpha-2, any case; returns the upper-case code or null when invalid.</summary>
    public static string? Country(Errors errors, string field, string? value)
    {
        if (value is null)
        {
            errors.Add(field, $"{field} is required.");
            return null;
        }

        var upper = value.ToUpperInvariant();
        if (value.Length != 2 || !Countries.IsAssigned(upper))
        {
            errors.Add(field, $"{field} must be an ISO 3166-1 alpha-2 country code (e.g. DE, US).");
            return null;
        }

        return upper;
    }

    public static void Capacity(Errors errors, string field, int? value)
    {
        if (value is null)
        {
            errors.Add(field, $"{field} is required.");
        }
        else if (value < 0)
        {
            errors.Add(field, $"{field} must be 0 or more.");
        }
    }

    private static bool HasForbiddenControl(string value, bool multiline)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) && !(multiline && c is '\n' or '\r' or '\t'))
            {
                return true;
            }
        }

        return false;
    }

    // Pragmatic: a local part of visible characters without '@', a dot-separated host name, an alphabetic TLD.
    [GeneratedRegex(@"^[^@\s\p{C}]{1,64}@(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")]
    private static partial Regex EmailFormat();

    [GeneratedRegex(@"^\+[1-9][0-9]{1,14}$")]
    private static partial Regex PhoneFormat();
}

/// <summary>Validation errors by field, in the shape of CONTRACT §2.</summary>
internal sealed class Errors
{
    private readonly Dictionary<string, List<string>> byField = new(StringComparer.Ordinal);

    public bool Any => byField.Count > 0;

    public void Add(string field, string message)
    {
        if (!byField.TryGetValue(field, out var messages))
        {
            byField[field] = messages = [];
        }

        messages.Add(message);
    }

    public void AddAll(IDictionary<string, string[]> other)
    {
        foreach (var (field, messages) in other)
        {
            foreach (var message in messages)
            {
                Add(field, message);
            }
        }
    }

    public Dictionary<string, string[]> ToDictionary() => byField.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>
/// A member of a JSON merge patch (RFC 7396): absent leaves the field alone, null clears it (or is refused
/// when the field is required), a value replaces it.
/// </summary>
internal static class Patch
{
    public static bool IsPresent(JsonElement member) => member.ValueKind != JsonValueKind.Undefined;

    /// <summary>Reads a string member; adds an error and returns false when it has another type.</summary>
    public static bool TryString(Errors errors, string field, JsonElement member, out string? value)
    {
        value = null;
        switch (member.ValueKind)
        {
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.String:
                value = member.GetString();
                return true;
            default:
                errors.Add(field, $"{field} must be a string or null.");
                return false;
        }
    }

    public static bool TryInt(Errors errors, string field, JsonElement member, out int? value)
    {
        value = null;
        switch (member.ValueKind)
        {
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.Number when member.TryGetInt32(out var number):
                value = number;
                return true;
            default:
                errors.Add(field, $"{field} must be a whole number.");
                return false;
        }
    }
}
