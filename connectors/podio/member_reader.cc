#include "connectors/podio/member_reader.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/podio/mapper_internal.h"

namespace unified::podio::member_reader {
namespace {

// The members read; at most 32 (each is a bit of Person::seen or
// Row::seen).
enum Field : uint8_t {
  kNone,
  // A person's.
  kUserId,
  kProfileId,
  kName,
  kStatus,
  kTimezone,
  kLocale,
  kCreatedOn,
  kLastSeenOn,
  kMail,
  kPhone,
  kTitle,
  kImage,
  kThumbnailLink,  // Of the image.
  kLink,
  // A row's.
  kUser,
  kProfile,
  kEmployee,
  kRole,
  kSpaces,
  kStarted,  // Of the spaces.
  kInvited,
};

bool Is(absl::string_view key, const char* name) {
  const size_t n = std::strlen(name);
  return key.size() == n && std::memcmp(key.data(), name, n) == 0;
}

Field PersonField(absl::string_view k) {
  switch (k.size()) {
    case 4:
      return Is(k, "name") ? kName : Is(k, "mail") ? kMail : kNone;
    case 5:
      return Is(k, "phone")   ? kPhone
             : Is(k, "title") ? kTitle
             : Is(k, "image") ? kImage
                              : kNone;
    case 6:
      return Is(k, "status") ? kStatus : Is(k, "locale") ? kLocale : kNone;
    case 7:
      return Is(k, "user_id") ? kUserId : kNone;
    case 8:
      return Is(k, "timezone") ? kTimezone : kNone;
    case 10:
      return Is(k, "profile_id")   ? kProfileId
             : Is(k, "created_on") ? kCreatedOn
                                   : kNone;
    case 12:
      return Is(k, "last_seen_on") ? kLastSeenOn : kNone;
    default:
      return kNone;
  }
}

Field RowField(absl::string_view k) {
  if (Is(k, "user")) return kUser;
  if (Is(k, "profile")) return kProfile;
  if (Is(k, "employee")) return kEmployee;
  if (Is(k, "role")) return kRole;
  if (Is(k, "spaces")) return kSpaces;
  return kNone;
}

// Marks `f` met; true the first time.
bool First(uint32_t& seen, Field f) {
  const uint32_t bit = uint32_t{1} << f;
  if (seen & bit) return false;
  seen |= bit;
  return true;
}

// A number as json.h's accessors read it: json::Int64 and json::Bool.
struct Number {
  bool has_integer = false;
  int64_t integer = 0;
  int8_t flag = -1;  // -1: not a flag; else 0 or 1.
};

void ClearPerson(Person& p) {
  std::vector<absl::string_view> mails = std::move(p.mails);
  std::vector<absl::string_view> phones = std::move(p.phones);
  mails.clear();
  phones.clear();
  p = Person();
  p.mails = std::move(mails);
  p.phones = std::move(phones);
}

// The handler of the parser's events. The containers read are a stack of
// at most four (page, row, person, then its image or a list); any other
// container is skipped whole (skip_ counts how deep), and a scalar nobody
// reads costs one test. Hot: it sees every event of every page.
class RowReader {
 public:
  // Pages call `on_row` for each element of the top-level list; otherwise
  // the top-level value is the one row.
  explicit RowReader(const std::function<void(const Row&)>* on_row)
      : on_row_(on_row) {}

  const Row& row() const { return row_; }
  bool not_list() const { return not_list_; }

  bool Null() { return Ignored() || OnScalar(nullptr, nullptr); }
  bool Bool(bool b) {
    if (Ignored()) return true;
    Number n;
    n.flag = b;
    return OnNumber(n);
  }
  bool Int(int i) {
    if (Ignored()) return true;
    return OnNumber({true, i, static_cast<int8_t>(i != 0)});
  }
  bool Uint(unsigned u) {
    if (Ignored()) return true;
    return OnNumber({true, u, static_cast<int8_t>(u <= INT_MAX ? u != 0 : -1)});
  }
  bool Int64(int64_t i) {
    if (Ignored()) return true;
    return OnNumber({true, i, -1});
  }
  bool Uint64(uint64_t u) {
    if (Ignored()) return true;
    Number n;
    if (u <= static_cast<uint64_t>(INT64_MAX)) {
      n.has_integer = true;
      n.integer = static_cast<int64_t>(u);
    }
    return OnNumber(n);
  }
  bool Double(double d) {
    if (Ignored()) return true;
    Number n;
    // Integral and well inside int64 (doubles are exact below 2^53).
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      n.has_integer = true;
      n.integer = static_cast<int64_t>(d);
    }
    return OnNumber(n);
  }
  bool RawNumber(const char*, rapidjson::SizeType, bool) {
    return Ignored() || OnScalar(nullptr, nullptr);
  }
  bool String(const char* text, rapidjson::SizeType n, bool) {
    if (Ignored()) return true;
    const absl::string_view view(text, n);
    return OnScalar(&view, nullptr);
  }
  bool Key(const char* text, rapidjson::SizeType n, bool) {
    if (skip_ == 0 && depth_ > 0) OnKey(absl::string_view(text, n));
    return true;
  }
  bool StartObject() { return Open(true); }
  bool EndObject(rapidjson::SizeType) { return End(); }
  bool StartArray() { return Open(false); }
  bool EndArray(rapidjson::SizeType) { return End(); }

 private:
  enum Kind : uint8_t {
    kAtTop,     // No container open yet.
    kInPage,    // The top-level list of a page.
    kInRow,     // A row object; its person members go to row_.self.
    kInPerson,  // `user` or `profile`.
    kInImage,   // A person's image.
    kInSpaces,  // A row's spaces.
    kInList,    // A person's mail, phone or title list.
    kInElement  // An element of a page that is not an object.
  };

  // A scalar nobody reads: inside a skipped container, or the value of a
  // member not read (pages, lists and the top level read every element).
  bool Ignored() const {
    return skip_ > 0 || (pending_ == kNone && !collects_);
  }
  void Push(Kind kind, Person* person = nullptr, Field list = kNone) {
    if (depth_ == kMaxFrames) {  // Not reached (see above); skipped if so.
      ++skip_;
      return;
    }
    kind_[depth_] = kind;
    person_[depth_] = person;
    list_[depth_] = list;
    items_[depth_] = 0;
    ++depth_;
    collects_ = kind == kInPage || kind == kInList;
  }
  Kind top() const { return depth_ > 0 ? kind_[depth_ - 1] : kAtTop; }
  void OnKey(absl::string_view key);
  // A scalar read: a string (`text`), a number (`n`), or neither (null).
  bool OnScalar(const absl::string_view* text, const Number* n);
  bool OnNumber(const Number& n) { return OnScalar(nullptr, &n); }
  // The value of member `f` of a person or a row: what it sets.
  void PersonString(Person& p, Field f, absl::string_view text);
  void PersonOther(Person& p, Field f, const Number* n);
  void RowScalar(Field f, const absl::string_view* text, const Number* n);
  // The value of `f` is a container: the frame to read it with, or false.
  bool OpenIn(Kind kind, Field f, bool object);
  bool Open(bool object);
  bool End();
  void BeginRow() {
    ClearPerson(row_.user);
    ClearPerson(row_.profile);
    ClearPerson(row_.self);
    row_.is_object = false;
    row_.employee.reset();
    row_.role = absl::string_view();
    row_.has_spaces = false;
    row_.spaces_started.reset();
    row_.spaces_invited.reset();
    row_.seen = 0;
  }
  void Emit() {
    if (on_row_ != nullptr) (*on_row_)(row_);
  }
  // A value at the top level or in the page, which is a row of its own.
  void ScalarRow() {
    if (depth_ == 0) {
      not_list_ = on_row_ != nullptr;  // Not a page, or not an object.
    } else if (top() == kInPage) {
      BeginRow();
      Emit();
    }
  }

  const std::function<void(const Row&)>* on_row_;
  static constexpr int kMaxFrames = 4;
  Kind kind_[kMaxFrames];
  Person* person_[kMaxFrames];
  Field list_[kMaxFrames];
  int items_[kMaxFrames];
  int depth_ = 0;
  int skip_ = 0;           // Depth inside a container not read.
  bool collects_ = true;   // The top reads every element.
  Field pending_ = kNone;  // The member whose value comes next.
  Row row_;
  bool not_list_ = false;
};

void RowReader::OnKey(absl::string_view key) {
  switch (top()) {
    case kInRow:
      pending_ = RowField(key);
      if (pending_ == kNone) pending_ = PersonField(key);
      return;
    case kInPerson:
      pending_ = PersonField(key);
      if (pending_ != kUserId && pending_ != kMail) {
        person_[depth_ - 1]->limited = false;
      }
      return;
    case kInImage:
      pending_ = Is(key, "thumbnail_link") ? kThumbnailLink
                 : Is(key, "link")         ? kLink
                                           : kNone;
      return;
    case kInSpaces:
      pending_ = Is(key, "started")   ? kStarted
                 : Is(key, "invited") ? kInvited
                                      : kNone;
      return;
    default:
      pending_ = kNone;
  }
}

// The text member of a person that `f` fills; null for the others. Only
// members are listed: a null member pointer made by value-initializing a
// table is not portable (GCC's constant evaluation gave offset 0).
absl::string_view Person::*TextMember(Field f) {
  static constexpr std::pair<Field, absl::string_view Person::*> kMembers[] = {
      {kName, &Person::name},
      {kStatus, &Person::status},
      {kTimezone, &Person::timezone},
      {kLocale, &Person::locale},
      {kCreatedOn, &Person::created_on},
      {kLastSeenOn, &Person::last_seen_on},
      {kMail, &Person::mail},
      {kThumbnailLink, &Person::thumbnail_link},
      {kLink, &Person::link}};
  for (const auto& [field, member] : kMembers) {
    if (field == f) return member;
  }
  return nullptr;
}

void RowReader::PersonString(Person& p, Field f, absl::string_view text) {
  if (f == kNone || !First(p.seen, f)) return;
  p.has_status |= f == kStatus;
  p.has_image |= f == kImage;
  p.mail_is_string |= f == kMail;
  if (f == kTitle) p.title = text;
  // An id given as text is not an id: no member takes it.
  if (absl::string_view Person::*member = TextMember(f)) p.*member = text;
}

void RowReader::PersonOther(Person& p, Field f, const Number* n) {
  if (f == kNone || !First(p.seen, f)) return;
  if (f == kStatus) p.has_status = true;
  if (f == kImage) p.has_image = true;
  if (n == nullptr || !n->has_integer) return;
  if (f == kUserId) p.user_id = n->integer;
  if (f == kProfileId) p.profile_id = n->integer;
}

void RowReader::RowScalar(Field f, const absl::string_view* text,
                          const Number* n) {
  switch (f) {
    case kUser:
    case kProfile:
    case kSpaces:
      First(row_.seen, f);  // Not an object: absent.
      return;
    case kEmployee:
      if (First(row_.seen, f) && n != nullptr && n->flag >= 0) {
        row_.employee = n->flag == 1;
      }
      return;
    case kRole:
      if (First(row_.seen, f) && text != nullptr) row_.role = *text;
      return;
    case kStarted:
    case kInvited:
      if (First(row_.seen, f) && n != nullptr && n->has_integer) {
        (f == kStarted ? row_.spaces_started : row_.spaces_invited) =
            n->integer;
      }
      return;
    default:
      if (text != nullptr) {
        PersonString(row_.self, f, *text);
      } else {
        PersonOther(row_.self, f, n);
      }
  }
}

bool RowReader::OnScalar(const absl::string_view* text, const Number* n) {
  const Field f = pending_;
  pending_ = kNone;
  switch (top()) {
    case kInRow:
    case kInSpaces:
      RowScalar(f, text, n);
      break;
    case kInPerson:
    case kInImage:
      if (text != nullptr) {
        PersonString(*person_[depth_ - 1], f, *text);
      } else {
        PersonOther(*person_[depth_ - 1], f, n);
      }
      break;
    case kInList:
      if (text != nullptr) {
        Person& p = *person_[depth_ - 1];
        const Field list = list_[depth_ - 1];
        if (list == kMail) p.mails.push_back(*text);
        if (list == kPhone) p.phones.push_back(*text);
        if (list == kTitle && items_[depth_ - 1] == 0) p.title = *text;
      }
      ++items_[depth_ - 1];
      break;
    default:
      ScalarRow();
  }
  return true;
}

bool RowReader::OpenIn(Kind kind, Field f, bool object) {
  if (f == kNone) return false;
  if (kind == kInRow || kind == kInSpaces) {
    if (f >= kUser) {
      if (!First(row_.seen, f) || !object || (f >= kEmployee && f != kSpaces)) {
        return false;
      }
      if (f == kSpaces) {
        row_.has_spaces = true;
        Push(kInSpaces);
        return true;
      }
      Person& p = f == kUser ? row_.user : row_.profile;
      p.present = true;
      Push(kInPerson, &p);
      return true;
    }
    if (kind == kInSpaces) return false;
  }
  Person& p = kind == kInRow ? row_.self : *person_[depth_ - 1];
  if (!First(p.seen, f)) return false;
  switch (f) {
    case kStatus:
      p.has_status = true;
      return false;
    case kImage:
      p.has_image = true;
      if (object) Push(kInImage, &p);
      return object;
    case kPhone:
      if (object) return false;
      p.has_phones = true;
      Push(kInList, &p, f);
      return true;
    case kMail:
    case kTitle:
      if (object) return false;
      Push(kInList, &p, f);
      return true;
    default:
      return false;
  }
}

bool RowReader::Open(bool object) {
  const Field f = pending_;
  pending_ = kNone;
  if (skip_ > 0) {
    ++skip_;
    return true;
  }
  const Kind kind = top();
  switch (kind) {
    case kAtTop:
      if (on_row_ != nullptr) {
        // A page: its list, or something else (then nothing is read).
        not_list_ = object;
        if (!object) {
          Push(kInPage);
          return true;
        }
      } else {
        BeginRow();
        row_.is_object = object;
        if (object) {
          Push(kInRow);
          return true;
        }
      }
      break;
    case kInPage:
      BeginRow();
      row_.is_object = object;
      Push(object ? kInRow : kInElement);
      return true;
    case kInList:
      ++items_[depth_ - 1];
      break;
    case kInElement:
      break;
    default:
      if (OpenIn(kind, f, object)) return true;
  }
  ++skip_;
  return true;
}

bool RowReader::End() {
  pending_ = kNone;
  if (skip_ > 0) {
    --skip_;
    return true;
  }
  if (depth_ == 0) return true;
  const Kind done = kind_[--depth_];
  const Kind now = top();
  collects_ = now == kAtTop || now == kInPage || now == kInList;
  if (now == kInPage && (done == kInRow || done == kInElement)) Emit();
  return true;
}

}  // namespace

Row ReadRow(const rapidjson::Value& value) {
  RowReader reader(nullptr);
  value.Accept(reader);
  return reader.row();
}

absl::Status ReadRows(std::string& text, absl::string_view what,
                      const std::function<void(const Row&)>& on_row) {
  RowReader reader(&on_row);
  if (absl::Status s = json::ParseEvents(text, reader); !s.ok()) {
    return WithErrorInfo(s, "UPSTREAM_MALFORMED_RESPONSE");
  }
  if (reader.not_list()) return mapper_internal::NotAList(what);
  return absl::OkStatus();
}

}  // namespace unified::podio::member_reader
