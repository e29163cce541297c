// The gate app's words: Vietnamese by default, English on request. Keys are English phrases.
const STORAGE_KEY = 'gatelog.lang';
export const TIME_ZONE = 'Asia/Ho_Chi_Minh';

const VI = {
  app_title: 'Ghi nhận ra vào cổng',
  enrol_title: 'Đăng ký máy tính bảng',
  enrol_help: 'Quét mã QR đăng ký trên trang Nhân sự, hoặc nhập mã.',
  enrol_code: 'Mã đăng ký',
  enrol_label: 'Tên máy',
  enrol_label_default: 'Máy cổng',
  enrol_submit: 'Đăng ký',
  enrol_scan: 'Quét mã bằng camera',
  enrol_invalid: 'Mã không hợp lệ, đã dùng hoặc đã hết hạn. Xin mã mới trên trang Nhân sự.',
  enrol_offline: 'Không kết nối được máy chủ. Cần mạng để đăng ký lần đầu.',
  enrol_failed: 'Đăng ký không thành công: {message}',
  enrolled_as: 'Đã đăng ký: {enterprise} — {gate}',
  gate_pick: 'Chọn cổng',
  gate_change: 'Đổi cổng',
  online: 'Trực tuyến',
  offline: 'Ngoại tuyến',
  waiting: 'Chờ gửi: {count}',
  waiting_oldest: 'Chờ gửi: {count} (cũ nhất {age})',
  last_sync: 'Đồng bộ lúc {time}',
  never_synced: 'Chưa đồng bộ',
  attention_count: 'Cần xử lý: {count}',
  storage_persisted: 'Bộ nhớ: bền vững',
  storage_not_persisted: 'Bộ nhớ: có thể bị xoá',
  storage_unknown: 'Bộ nhớ: chưa rõ',
  version: 'Bản {version}',
  sync_now: 'Đồng bộ ngay',
  syncing: 'Đang đồng bộ…',
  update_ready: 'Có phiên bản mới.',
  reload: 'Tải lại',
  device_revoked: 'Máy này đã bị thu hồi. Báo Nhân sự để đăng ký lại.',
  unauthorized: 'Máy chủ không nhận máy này. Báo Nhân sự để đăng ký lại.',
  search_placeholder: 'Tìm tên, mã nhân viên, số điện thoại…',
  no_results: 'Không tìm thấy',
  roster_empty: 'Chưa có danh sách nhân viên trên máy.',
  roster_size: '{count} người trong danh sách',
  camera_start: 'Quét bằng camera',
  camera_stop: 'Tắt camera',
  camera_failed: 'Không mở được camera: {message}',
  visitor_button: 'Khách không có thẻ',
  visitor_title: 'Khách không có thẻ',
  visitor_name: 'Họ tên',
  visitor_phone: 'Số điện thoại',
  visitor_purpose: 'Mục đích',
  visitor_host: 'Người tiếp',
  cancel: 'Huỷ',
  in: 'VÀO',
  out: 'RA',
  dir_in: 'Vào',
  dir_out: 'Ra',
  all_directions: 'Tất cả',
  flip_to: 'Đổi thành {direction}',
  flip_too_late: 'Đã gửi lên máy chủ, không đổi được. Nếu sai, chọn lại người này với chiều đúng.',
  saving: 'Đang lưu…',
  saved: 'Đã lưu',
  save_failed: 'KHÔNG lưu được: {message}',
  unknown_badge: 'Thẻ không có trong danh sách — vẫn ghi, chờ Nhân sự xác định',
  unknown_pass: 'Thẻ khách không có trong danh sách — vẫn ghi, chờ xác định',
  warn_worker_inactive: 'CẢNH BÁO: nhân viên đã nghỉ / bị khoá — vẫn ghi, đã đánh dấu',
  warn_pass_expired: 'CẢNH BÁO: thẻ khách hết hạn hoặc chưa đến hạn — vẫn ghi, đã đánh dấu',
  visitor_recorded: 'Khách không thẻ',
  not_a_badge: 'Mã này không phải thẻ nhân viên hay thẻ khách',
  poster_code: 'Đây là mã dán ở cổng, không phải thẻ',
  enrol_code_scanned: 'Đây là mã đăng ký máy, không phải thẻ',
  today_title: 'Hôm nay tại cổng',
  today_filter: 'Lọc theo tên hoặc mã',
  attention_title: 'Cần xử lý',
  attention_empty: 'Không có gì cần xử lý.',
  attention_dismiss: 'Đã xem',
  status_waiting: 'chờ gửi',
  status_sent: 'đã gửi',
  status_rejected: 'bị từ chối',
  unknown_person: 'Không rõ',
  minutes: '{count} phút',
  hours: '{count} giờ',
  seconds: '{count} giây',
  seq_reset: 'Máy chủ báo số thứ tự của máy bị khởi động lại.',
  language: 'English',
};

const EN = {
  app_title: 'Gate entry log',
  enrol_title: 'Enrol this tablet',
  enrol_help: 'Scan the enrolment QR code from the HR console, or type the code.',
  enrol_code: 'Enrolment code',
  enrol_label: 'Tablet name',
  enrol_label_default: 'Gate tablet',
  enrol_submit: 'Enrol',
  enrol_scan: 'Scan with camera',
  enrol_invalid: 'The code is invalid, used or expired. Ask HR for a new one.',
  enrol_offline: 'Cannot reach the server. The first enrolment needs a connection.',
  enrol_failed: 'Enrolment failed: {message}',
  enrolled_as: 'Enrolled: {enterprise} — {gate}',
  gate_pick: 'Choose the gate',
  gate_change: 'Change gate',
  online: 'Online',
  offline: 'Offline',
  waiting: 'Waiting: {count}',
  waiting_oldest: 'Waiting: {count} (oldest {age})',
  last_sync: 'Synced at {time}',
  never_synced: 'Never synced',
  attention_count: 'Needs attention: {count}',
  storage_persisted: 'Storage: persistent',
  storage_not_persisted: 'Storage: may be cleared',
  storage_unknown: 'Storage: unknown',
  version: 'Version {version}',
  sync_now: 'Sync now',
  syncing: 'Syncing…',
  update_ready: 'A new version is ready.',
  reload: 'Reload',
  device_revoked: 'This tablet was revoked. Ask HR to enrol it again.',
  unauthorized: 'The server does not know this tablet. Ask HR to enrol it again.',
  search_placeholder: 'Search name, employee code, phone digits…',
  no_results: 'No match',
  roster_empty: 'No roster on this tablet yet.',
  roster_size: '{count} people in the roster',
  camera_start: 'Scan with camera',
  camera_stop: 'Stop camera',
  camera_failed: 'Cannot open the camera: {message}',
  visitor_button: 'Visitor without a pass',
  visitor_title: 'Visitor without a pass',
  visitor_name: 'Full name',
  visitor_phone: 'Phone',
  visitor_purpose: 'Purpose',
  visitor_host: 'Host',
  cancel: 'Cancel',
  in: 'IN',
  out: 'OUT',
  dir_in: 'In',
  dir_out: 'Out',
  all_directions: 'All',
  flip_to: 'Change to {direction}',
  flip_too_late: 'Already sent to the server and cannot be changed. If wrong, record this person again.',
  saving: 'Saving…',
  saved: 'Saved',
  save_failed: 'NOT saved: {message}',
  unknown_badge: 'Badge not in the roster — recorded, HR will resolve it',
  unknown_pass: 'Pass not in the roster — recorded, to be resolved',
  warn_worker_inactive: 'WARNING: worker deactivated — recorded and flagged',
  warn_pass_expired: 'WARNING: visitor pass expired or not yet valid — recorded and flagged',
  visitor_recorded: 'Visitor without a pass',
  not_a_badge: 'This code is neither a badge nor a visitor pass',
  poster_code: 'This is the gate poster code, not a badge',
  enrol_code_scanned: 'This is a tablet enrolment code, not a badge',
  today_title: 'Today at this gate',
  today_filter: 'Filter by name or code',
  attention_title: 'Needs attention',
  attention_empty: 'Nothing needs attention.',
  attention_dismiss: 'Seen',
  status_waiting: 'waiting',
  status_sent: 'sent',
  status_rejected: 'rejected',
  unknown_person: 'Unknown',
  minutes: '{count} min',
  hours: '{count} h',
  seconds: '{count} s',
  seq_reset: 'The server saw this tablet restart its sequence numbers.',
  language: 'Tiếng Việt',
};

const DICTIONARIES = { vi: VI, en: EN };

let lang = DICTIONARIES[localStorage.getItem(STORAGE_KEY)] ? localStorage.getItem(STORAGE_KEY) : 'vi';

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = DICTIONARIES[next] ? next : 'vi';
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
}

export function t(key, params = {}) {
  const text = DICTIONARIES[lang][key] ?? VI[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

/** Fill every element marked data-i18n (text) or data-i18n-placeholder. */
export function translatePage(root = document) {
  document.documentElement.lang = lang;
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
}

export function formatTime(ms) {
  return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', {
    timeZone: TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(ms));
}

export function formatAge(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return t('seconds', { count: seconds });
  if (seconds < 3600) return t('minutes', { count: Math.floor(seconds / 60) });
  return t('hours', { count: Math.floor(seconds / 3600) });
}
