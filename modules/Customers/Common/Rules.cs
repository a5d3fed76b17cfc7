using System.Text.Json;
using Monolith.SharedKernel.Validation;

namespace Monolith.Customers.Common;

/// <summary>
/// Field rules shared by the module's endpoints. Text is stored exactly as sent (no trimming, no escaping:
/// every statement is parameterized); what is refused is what could never be stored or shown sanely.
/// Lengths count Unicode code points, as PostgreSQL's char_length does.
/// </summary>
internal static class Rules
{
    public const int NameMax = 200;
    public const int LegalNameMax = 200;
    public const int CodeMax = 50;
    public const int AddressMax = 500;
    public const int MaxProjectsPerRequest = 100;

    public static readonly IReadOnlyList<string> CustomerStatuses = ["active", "inactive"];
    public static readonly IReadOnlyList<string> ProjectStatuses = ["active", "archived"];

    /// <summary>A required or optional single-line text: 1..max code points, not blank, no control characters.</summary>
    public static void Text(ValidationErrors errors, string field, string? value, int max, bool required, bool multiline = false)
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

    public static void Email(ValidationErrors errors, string field, string? value)
    {
        if (value is null)
        {
            errors.Add(field, $"{field} is required.");
        }
        else if (!EmailAddresses.IsValid(value))
        {
            errors.Add(field, EmailAddresses.Message(field));
        }
    }

    public static void Phone(ValidationErrors errors, string field, string? value)
    {
        if (value is not null && !PhoneNumbers.IsValid(value))
        {
            errors.Add(field, PhoneNumbers.Message(field));
        }
    }

    public static void OneOf(ValidationErrors errors, string field, string? value, IReadOnlyList<string> allowed, bool required)
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
    public static string? Country(ValidationErrors errors, string field, string? value)
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

    public static void Capacity(ValidationErrors errors, string field, int? value)
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

}

/// <summary>
/// A member of a JSON merge patch (RFC 7396): absent leaves the field alone, null clears it (or is refused
/// when the field is required), a value replaces it.
/// </summary>
internal static class Patch
{
    public static bool IsPresent(JsonElement member) => member.ValueKind != JsonValueKind.Undefined;

    /// <summary>Reads a string member; adds an error and returns false when it has another type.</summary>
    public static bool TryString(ValidationErrors errors, string field, JsonElement member, out string? value)
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

    public static bool TryInt(ValidationErrors errors, string field, JsonElement member, out int? value)
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
