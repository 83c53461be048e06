using System.Security.Cryptography;
using System.Text;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>ACL permission bits.</summary>
[Flags]
public enum Permissions
{
    /// <summary>No permission.</summary>
    None = 0,

    /// <summary>Read data and list children.</summary>
    Read = 1,

    /// <summary>Set data.</summary>
    Write = 2,

    /// <summary>Create children.</summary>
    Create = 4,

    /// <summary>Delete children.</summary>
    Delete = 8,

    /// <summary>Set the ACL.</summary>
    Admin = 16,

    /// <summary>Every permission.</summary>
    All = Read | Write | Create | Delete | Admin,
}

/// <summary>An identity in an ACL: a scheme (<c>world</c>, <c>auth</c>, <c>digest</c>, <c>ip</c>, ...) and an id.</summary>
/// <param name="Scheme">The scheme.</param>
/// <param name="Identity">The id within the scheme (such as <c>anyone</c>, or <c>user:base64(sha1)</c> for digest).</param>
public readonly record struct Id(string Scheme, string Identity)
{
    /// <summary><c>world:anyone</c>.</summary>
    public static Id Anyone { get; } = new("world", "anyone");

    /// <summary><c>auth:</c>: every identity authenticated on the creating connection.</summary>
    public static Id Creator { get; } = new("auth", string.Empty);

    /// <summary>
    /// The <c>digest</c> id of <paramref name="user"/> with <paramref name="password"/>:
    /// <c>user:base64(SHA1("user:password"))</c>, as the server's digest provider computes it.
    /// </summary>
    public static Id Digest(string user, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentNullException.ThrowIfNull(password);
        var credentials = Encoding.UTF8.GetBytes(user + ":" + password);
#pragma warning disable CA5350 // ZooKeeper's digest scheme is defined as SHA-1; this computes its id, it protects nothing here.
        var hash = SHA1.HashData(credentials);
#pragma warning restore CA5350
        return new Id("digest", user + ":" + Convert.ToBase64String(hash));
    }
}

/// <summary>One ACL entry: permissions granted to an identity.</summary>
/// <param name="Permissions">The permission bits.</param>
/// <param name="Id">The identity.</param>
public readonly record struct Acl(Permissions Permissions, Id Id);

/// <summary>The predefined ACL lists of <c>ZooDefs.Ids</c>.</summary>
public static class Acls
{
    /// <summary>Everything for everyone (<c>OPEN_ACL_UNSAFE</c>): the default for creates.</summary>
    public static IReadOnlyList<Acl> OpenUnsafe { get; } = [new Acl(Permissions.All, Id.Anyone)];

    /// <summary>Everything for the creator's authenticated identities (<c>CREATOR_ALL_ACL</c>); needs an <c>AddAuthAsync</c> first.</summary>
    public static IReadOnlyList<Acl> CreatorAll { get; } = [new Acl(Permissions.All, Id.Creator)];

    /// <summary>Read for everyone (<c>READ_ACL_UNSAFE</c>).</summary>
    public static IReadOnlyList<Acl> ReadUnsafe { get; } = [new Acl(Permissions.Read, Id.Anyone)];
}
