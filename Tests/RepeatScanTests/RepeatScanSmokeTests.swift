import XCTest

final class RepeatScanSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
