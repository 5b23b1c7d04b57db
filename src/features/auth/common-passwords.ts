/**
 * Passwords people pick most often (from public breach-frequency lists), lower-cased. Only entries of
 * 8+ characters matter, because shorter ones already fail the length rule. Checked case-insensitively,
 * also after stripping trailing digits/punctuation (so "Password123!" is refused too).
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  `password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa55word
12345678 123456789 1234567890 12345678910 123123123 11111111 111111111 1111111111 00000000 000000000
88888888 87654321 987654321 0987654321 11223344 12341234 12344321 123qweasd 1qaz2wsx 1q2w3e4r 1q2w3e4r5t
1q2w3e4r5t6y qwertyuiop qwerty123 qwerty12 qwerty1234 qwertyui qwerty1! asdfghjkl asdfasdf asdf1234
zxcvbnm1 zxcvbnm123 zaq12wsx qazwsxedc qazwsx123 abcd1234 abc12345 abcdefgh abcdefg1 a1b2c3d4
iloveyou iloveyou1 iloveyou2 sunshine sunshine1 princess princess1 football football1 baseball
baseball1 basketball superman superman1 batman123 starwars trustno1 whatever letmein1 letmein123
welcome1 welcome123 welcome01 computer computer1 internet michelle jennifer jessica1 charlie1
danielle mercedes chocolate butterfly babygirl1 lovely123 loveyou1 lovelove monkey123 dragon123
shadow123 master123 freedom1 access14 mustang1 jordan23 liverpool chelsea1 arsenal1 samsung1
google123 changeme changeme1 changeme123 default1 administrator admin123 admin1234 adminadmin
administrator1 root1234 toor1234 secret123 secret12 test1234 test12345 testing123 testtest guest123
user1234 login123 qwer1234 q1w2e3r4 q1w2e3r4t5 aa123456 a12345678 a123456789 pass1234 passpass
password! password1! password@1 password2 password3 password11 passwords 1password
summer2020 summer2021 summer2022 summer2023 summer2024 summer2025 summer2026 winter2024 winter2025
spring2025 autumn2025 january1 december1 monday123 hello123 hello1234 helloworld whatever1
smartsupport helpdesk helpdesk1 support1 support123 company1 company123 office123 employee
employee1 welcome2024 welcome2025 welcome2026 letmein! 11111111a aaaaaaaa zzzzzzzz
qweqweqwe asdasdasd 1234qwer 1234abcd 147258369 159753456 741852963 789456123 123654789 999999999
666666666 555555555 777777777 12qwaszx 1qazxsw2 !qaz2wsx zaq1zaq1 michael1 jordan123 hunter123
football123 soccer123 killer123 pokemon1 naruto123 minecraft fortnite1 ginger123 maggie123
qwerty qwertyuiop123 asdfghjkl123 iloveyou123 loveme123 baby1234 angel123 friends1 family123
nicole123 daniel123 thomas123 robert123 matthew1 andrew123 joshua123 anthony1 william1 jessica123
ashley123 amanda123 justin123 `
    .split(/\s+/)
    .filter(Boolean),
);

/** True when the password is one of the common ones (ignoring case and a trailing run of digits/symbols). */
export function isCommonPassword(password: string): boolean {
  const p = password.toLowerCase();
  if (COMMON_PASSWORDS.has(p)) return true;
  const stem = p.replace(/[\d!@#$%^&*.?_-]+$/, '');
  if (stem.length >= 4 && (COMMON_PASSWORDS.has(stem) || COMMON_PASSWORDS.has(stem + '1'))) return true;
  // one character repeated ("aaaaaaaa") or a plain ascending run of digits
  if (/^(.)\1+$/.test(p) || '0123456789012345678901234567890'.includes(p)) return true;
  return false;
}
