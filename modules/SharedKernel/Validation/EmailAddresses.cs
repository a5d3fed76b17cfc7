using System.Text.RegularExpressions;

namespace Monolith.SharedKernel.Validation;

/// <summary>
/// The one e-mail rule of every module: <c>local@domain.tld</c>, at most 254 characters. Pragmatic, not RFC 5322:
/// a local part of 1–64 visible characters without <c>@</c>, a dot-separated host name, an alphabetic top-level
/// domain. No display names, quoted local parts or address literals. Callers decide about trimming.
/// </summary>
public static partial class EmailAddresses
{
    public const int MaxLength = 254;

    public static bool IsValid(string? address) =>
        address is not null && address.Length <= MaxLength && Format().IsMatch(address);

    public static string Message(string field) =>
        $"{field} must be a valid e-mail address (local@domain.tld, at most {MaxLength} characters).";

    [GeneratedRegex(@"^[^@\s\p{C}]{1,64}@(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex Format();
}
