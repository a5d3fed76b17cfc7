namespace Monolith.Toggles;

/// <summary>The key format of CONTRACT §5: <c>^[a-z0-9][a-z0-9._-]{0,63}$</c> (checked by hand: no regex, no allocation).</summary>
internal static class ToggleKey
{
    public const string Pattern = "^[a-z0-9][a-z0-9._-]{0,63}$";

    public const string Message = "key must be 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.";

    public static bool IsValid(string? key)
    {
        if (key is not { Length: > 0 and <= 64 } || !IsLetterOrDigit(key[0]))
        {
            return false;
        }

        for (var i = 1; i < key.Length; i++)
        {
            var c = key[i];
            if (!IsLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLetterOrDigit(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
}
