using System.Text.RegularExpressions;

namespace Monolith.SharedKernel.Validation;

/// <summary>The one phone rule: E.164, <c>+</c> then 2 to 15 digits, the first not 0; no spaces or punctuation.</summary>
public static partial class PhoneNumbers
{
    public static bool IsValid(string? number) => number is not null && Format().IsMatch(number);

    public static string Message(string field) =>
        $"{field} must be in E.164 format: '+' then 2 to 15 digits, the first not 0 (e.g. +4930123456).";

    [GeneratedRegex(@"^\+[1-9][0-9]{1,14}$", RegexOptions.CultureInvariant)]
    private static partial Regex Format();
}
